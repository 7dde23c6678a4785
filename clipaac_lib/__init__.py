"""clipaac"""
