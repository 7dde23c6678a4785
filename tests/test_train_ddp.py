"""Data-parallel training on CPU (gloo): 2 processes under torchrun equal 1 process with the same global batch.

Also checks the pieces that make this true against direct computations: the differentiable gather,
the sharding of batches and the global batch norm.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from clipaac_lib.data import PairBatch
from clipaac_lib.train import TrainConfig, train
from clipaac_lib.train import distributed as D
from clipaac_lib.train.distributed import ShardedBatchSampler, shard_sizes
from clipaac_lib.train.rundir import RunDir
from clipaac_lib.train.step import LossWeights, compute_loss

pytestmark = pytest.mark.slow  # torchrun processes: about 10-20 s of start-up

REPO = Path(__file__).resolve().parents[1]

TINY_MODEL = {
    "embed_dim": 32,
    "audio": {"stem_width": 8, "groups": 4, "width_per_group": 16},
    "text": {"width": 32, "heads": 2, "layers": 1},
    "decoder": {"d_model": 32, "heads": 2, "ffn_dim": 64},
}


# ------------------------------------------------------------------ one step, exact arithmetic (float64)
GLOBAL_BATCH = 8
STEP_CONFIG = TrainConfig(init="random", alpha=0.2, lam=0.5, label_smoothing=0.1, dropout=0.0)
STEP_WEIGHTS = LossWeights.from_config(STEP_CONFIG)


def _tiny_float64_model(fbsp_grad_normalize: bool = False) -> torch.nn.Module:
    from clipaac_lib.model import CLIPAAC
    from clipaac_lib.train.setup import build_model_config

    # fbsp_grad_normalize rescales the fbsp gradients by their max-abs; off for the plain step comparison,
    # on for the one that checks the rescaling happens after DDP's averaging
    overrides = {**TINY_MODEL, "audio": {**TINY_MODEL["audio"], "fbsp_grad_normalize": fbsp_grad_normalize}}
    torch.manual_seed(0)
    model_config = build_model_config(STEP_CONFIG.replace(model_overrides=overrides), vocab_size=20)
    return CLIPAAC(model_config).double()


def _global_batch() -> PairBatch:
    g = torch.Generator().manual_seed(1)
    audio = (torch.rand(GLOBAL_BATCH, 8000, generator=g, dtype=torch.float64) * 2 - 1) * 0.5
    text = torch.zeros(GLOBAL_BATCH, 77, dtype=torch.long)
    caption_in = torch.zeros(GLOBAL_BATCH, 10, dtype=torch.long)
    caption_out = torch.zeros(GLOBAL_BATCH, 10, dtype=torch.long)
    for i in range(GLOBAL_BATCH):
        n = 5 + i  # CLIP BPE ids: start, words, end (the largest id marks the feature position)
        text[i, :n] = torch.cat([torch.tensor([49406]), torch.randint(300, 40000, (n - 2,), generator=g),
                                 torch.tensor([49407])])
        words = 9 if i < GLOBAL_BATCH // 2 else 2  # the first half carries far more caption tokens
        ids = torch.randint(4, 20, (words,), generator=g)
        caption_in[i, : words + 1] = torch.cat([torch.tensor([1]), ids])
        caption_out[i, : words + 1] = torch.cat([ids, torch.tensor([2])])
    return PairBatch(audio=audio, audio_lengths=torch.full((GLOBAL_BATCH,), 8000), caption_in=caption_in,
                     caption_out=caption_out, captions=[f"caption {i}" for i in range(GLOBAL_BATCH)],
                     clip_index=torch.arange(GLOBAL_BATCH), file_names=[f"{i}.wav" for i in range(GLOBAL_BATCH)],
                     text_tokens=text)


def _rows(batch: PairBatch, start: int, stop: int) -> PairBatch:
    """Rows ``start:stop`` of every field of ``batch`` (a process's shard)."""
    return dataclasses.replace(batch, **{f.name: getattr(batch, f.name)[start:stop]
                                         for f in dataclasses.fields(batch)})


def _gradient_step(out_file: str) -> None:
    """Under torchrun: one DDP step in float64 on this process's shard of the global batch; rank 0 saves
    the losses, gradients and batch-norm statistics."""
    info = D.init_from_env("cpu")
    model = D.convert_batchnorm(_tiny_float64_model(), "cpu")
    ddp = torch.nn.parallel.DistributedDataParallel(model)
    sizes = shard_sizes(GLOBAL_BATCH, info.world_size)
    start = sum(sizes[: info.rank])
    local = _rows(_global_batch(), start, start + sizes[info.rank])
    loss, l_cl, l_ce = compute_loss(ddp, local, STEP_WEIGHTS, torch.device("cpu"), autocast=False)
    loss.backward()
    # the same step with AudioCLIP's fbsp gradient rescaling, deferred as the training loop does it
    rescaled = D.convert_batchnorm(_tiny_float64_model(fbsp_grad_normalize=True), "cpu")
    deferred = D.defer_fbsp_grad_normalize(rescaled)
    ddp_rescaled = torch.nn.parallel.DistributedDataParallel(rescaled)  # kept alive: its reducer averages
    compute_loss(ddp_rescaled, local, STEP_WEIGHTS, torch.device("cpu"), autocast=False)[0].backward()
    for layer in deferred:
        layer.normalize_grads()
    if info.is_main:
        grads = {n: p.grad for n, p in model.named_parameters() if p.grad is not None}
        running = {n: b for n, b in model.named_buffers() if "running" in n}
        fbsp = {n: p.grad for n, p in rescaled.named_parameters() if ".fbsp." in n}
        torch.save({"l_cl": l_cl, "l_ce": l_ce, "grads": grads, "running": running, "fbsp_grads": fbsp}, out_file)


def _flags(options: dict) -> list[str]:
    args: list[str] = []
    for key, value in options.items():
        flag = "--" + key.replace("_", "-")
        if isinstance(value, bool):
            args.append(flag if value else "--no-" + flag[2:])
        else:
            args += [flag, json.dumps(value) if isinstance(value, dict) else str(value)]
    return args


@pytest.fixture(scope="module")
def torchrun_job(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One ``torchrun --nproc_per_node=2`` job (process start-up is the expensive part) whose workers
    take the float64 step, then run ``python -m clipaac_lib.train``'s entry point with the options below."""
    from clipaac_lib.data import make_synthetic_clotho

    tmp = tmp_path_factory.mktemp("ddp")
    data = tmp / "data"
    make_synthetic_clotho(data, sizes={"development": 8, "validation": 0, "evaluation": 4}, clip_seconds=1.5,
                          max_events=1, progress=False)
    options = dict(init="random", data_root=str(data), train_split="development", test_split="evaluation",
                   model_overrides=TINY_MODEL, num_epochs=1, batch_size=8, warmup_epochs=0.0, dropout=0.0,
                   lr=1e-12, beam_size=1, max_caption_len=4, caption_metrics=False, eval_untrained=False,
                   validate_every=0, progress=False, device="cpu")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CLIPAAC_CACHE": str(tmp / "cache"), "PYTHONPATH": str(REPO)}
    step_file = tmp / "rank0_step.pt"
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
         "-m", "tests.test_train_ddp", str(step_file), *_flags({**options, "run_root": str(tmp / "two")})],
        env=env, cwd=REPO, capture_output=True, text=True, timeout=400,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return {"tmp": tmp, "options": options, "step_file": step_file, "cache": env["CLIPAAC_CACHE"]}


def test_one_ddp_step_has_the_gradient_of_the_global_batch(torchrun_job: dict) -> None:
    two = torch.load(torchrun_job["step_file"], weights_only=True)
    model = _tiny_float64_model()
    loss, l_cl, l_ce = compute_loss(model, _global_batch(), STEP_WEIGHTS, torch.device("cpu"), autocast=False)
    loss.backward()
    # Eq. 5 over all 8 pairs (negatives from both processes) and the token mean over the global batch
    assert float(two["l_cl"]) == pytest.approx(float(l_cl), rel=1e-10)
    assert float(two["l_ce"]) == pytest.approx(float(l_ce), rel=1e-10)
    grads = {n: p.grad for n, p in model.named_parameters() if p.grad is not None}
    assert grads.keys() == two["grads"].keys()
    for name, grad in grads.items():
        torch.testing.assert_close(two["grads"][name], grad, rtol=1e-6, atol=1e-9 * float(grad.abs().max()) + 1e-12,
                                   msg=lambda m, name=name: f"{name}: {m}")
    # batch-norm statistics over the global batch
    for name, buffer in model.named_buffers():
        if "running" in name:
            torch.testing.assert_close(two["running"][name], buffer, rtol=1e-8, atol=1e-10)


def test_fbsp_gradient_rescaling_happens_after_the_average(torchrun_job: dict) -> None:
    """AudioCLIP divides the fbsp gradients by their max-abs. Under DDP that must act on the averaged
    gradient: then 2 processes equal 1 process holding the global batch (with the rescaling in its
    backward pass, as AudioCLIP's hooks do it)."""
    two = torch.load(torchrun_job["step_file"], weights_only=True)["fbsp_grads"]
    model = _tiny_float64_model(fbsp_grad_normalize=True)
    loss, _, _ = compute_loss(model, _global_batch(), STEP_WEIGHTS, torch.device("cpu"), autocast=False)
    loss.backward()
    one = {n: p.grad for n, p in model.named_parameters() if ".fbsp." in n}
    assert sorted(one) == sorted(two) and len(one) == 3  # m, fb, fc
    for name, grad in one.items():
        assert float(grad.abs().max()) == pytest.approx(1.0, rel=1e-6)  # rescaled to unit max
        torch.testing.assert_close(two[name], grad, rtol=1e-6, atol=1e-9, msg=lambda m, name=name: f"{name}: {m}")


def test_global_batch_norm_keeps_the_parameters_and_equals_batch_norm_alone() -> None:
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(2, 3, 3), torch.nn.BatchNorm2d(3), torch.nn.Sequential(
        torch.nn.BatchNorm2d(3)))
    x = torch.randn(4, 2, 6, 6)
    expected = net(x)
    params, keys = [id(p) for p in net.parameters()], list(net.state_dict())
    converted = D.convert_batchnorm(net, "cpu")
    assert isinstance(converted[1], D.GlobalBatchNorm) and isinstance(converted[2][0], D.GlobalBatchNorm)
    assert [id(p) for p in converted.parameters()] == params  # an optimiser built before still updates them
    assert list(converted.state_dict()) == keys
    torch.testing.assert_close(converted(x), expected)  # one process: an ordinary (training-mode) batch norm


def test_shards_are_contiguous_and_cover_each_global_batch() -> None:
    batches = [[0, 1, 2, 3, 4], [5, 6, 7], [8]]
    shards = [list(ShardedBatchSampler(batches, rank, 2)) for rank in range(2)]
    assert shards[0] == [[0, 1, 2], [5, 6]]
    assert shards[1] == [[3, 4], [7]]  # the 1-item batch cannot feed 2 processes: skipped by both
    assert shard_sizes(7, 3) == [3, 2, 2]


def test_two_processes_equal_one_process_with_the_same_global_batch(torchrun_job: dict,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The training command under torchrun: same steps, same global batches, same losses, same weights.

    The learning rate is tiny on purpose: at initialisation the loss changes by ~6e5 per unit of the fbsp
    order ``m`` (its gradient at m = 0), so Adam's lr-sized steps turn float rounding (1 vs 2 threads
    already) into percent-level loss differences within a few steps. The arithmetic of the step itself
    is checked exactly (float64) by the test above.
    """
    monkeypatch.setenv("CLIPAAC_CACHE", torchrun_job["cache"])
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        one = train(TrainConfig(**torchrun_job["options"], run_root=str(torchrun_job["tmp"] / "one")))
    finally:
        torch.set_num_threads(threads)
    two_dir = next((torchrun_job["tmp"] / "two").iterdir())
    assert json.loads((two_dir / "finished.json").read_text())["world_size"] == 2
    two_history = RunDir(two_dir).read_history()
    # 8 clips x 5 captions in global batches of 8: 5 steps, each split 4 + 4 over the processes
    assert two_history[0]["steps"] == one.history[0]["steps"] == 5
    for key in ("train_loss", "train_contrastive", "train_caption"):
        assert two_history[0][key] == pytest.approx(one.history[0][key], rel=1e-5)
    w_one, w_two = RunDir(one.run_dir).load_model_state(), RunDir(two_dir).load_model_state()
    assert w_one.keys() == w_two.keys()
    for name, weight in w_one.items():  # parameters and batch-norm statistics
        # running statistics average batch statistics (SyncBatchNorm: summed over 2 shards) of activations
        # that already carry the parameters' rounding: 1.9e-6 apart on one AMD EPYC, so they get 1e-5
        atol = 1e-5 if name.endswith(("running_mean", "running_var")) else 1e-6
        torch.testing.assert_close(w_two[name], weight, rtol=1e-5, atol=atol, msg=lambda m, n=name: f"{n}: {m}")


if __name__ == "__main__":  # the torchrun workers of the ``torchrun_job`` fixture
    from clipaac_lib.cli.train import main_train

    torch.set_num_threads(1)
    _gradient_step(sys.argv[1])
    sys.exit(main_train(sys.argv[2:]))
