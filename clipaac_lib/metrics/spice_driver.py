"""A small Java main that runs SPICE 1.0 on Java 15 and newer.

``edu.anu.spice.SpiceScorer`` ends by pretty-printing its JSON output through the JavaScript
engine (``ScriptEngineManager().getEngineByName("JavaScript")``). Java 15 removed that engine
(JEP 372), the call returns ``null``, and every run with ``-out`` dies with a
``NullPointerException`` after all the parsing work (seen here on Java 17; SPICE's ``-cache``
additionally fails on Java 16+ with ``InaccessibleObjectException``). This driver does what
``SpiceScorer -subset -out FILE`` does, with SPICE's own public classes (``SpiceParser``,
``SpiceStats``, ``TupleFilter``), and writes ``SpiceStats.toJSONString()`` itself (same content,
without indentation). It is run with Java's single-file source launcher (Java 11+:
``java -cp CLASSPATH ClipaacSpice.java ...``), so nothing is compiled into any folder.

Notebook: ``notebooks/04_metrics.ipynb``.
"""

from __future__ import annotations

from pathlib import Path

from clipaac_lib.common import atomic_write_text

__all__ = ["DRIVER_CLASS", "DRIVER_SOURCE", "write_driver"]

DRIVER_CLASS = "ClipaacSpice"

DRIVER_SOURCE = r"""// Written by clipaac (clipaac_lib/metrics/spice_driver.py). Runs SPICE 1.0 like
// `SpiceScorer INPUT -out OUTPUT -subset -silent [-threads N] [-cache DIR]`, but writes the JSON
// without the JavaScript engine that Java 15 removed.
// Usage: java -cp SPICE_CLASSPATH ClipaacSpice.java INPUT OUTPUT THREADS [CACHE_DIR]
import edu.anu.spice.SceneGraph;
import edu.anu.spice.SpiceParser;
import edu.anu.spice.SpiceStats;
import edu.anu.spice.TupleFilter;
import java.io.Reader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.json.simple.JSONArray;
import org.json.simple.JSONObject;
import org.json.simple.parser.JSONParser;

public class ClipaacSpice {
    public static void main(String[] args) throws Exception {
        if (args.length < 3) {
            System.err.println("usage: ClipaacSpice INPUT OUTPUT THREADS [CACHE_DIR]");
            System.exit(2);
        }
        int threads = Integer.parseInt(args[2]);
        String cache = args.length > 3 ? args[3] : null;

        List<Object> imageIds = new ArrayList<>();
        List<String> tests = new ArrayList<>();
        List<String> refs = new ArrayList<>();
        List<Integer> chunks = new ArrayList<>();
        JSONArray input;
        try (Reader reader = Files.newBufferedReader(Paths.get(args[0]), StandardCharsets.UTF_8)) {
            input = (JSONArray) new JSONParser().parse(reader);
        }
        for (Object item : input) {
            JSONObject clip = (JSONObject) item;
            imageIds.add(clip.get("image_id"));
            tests.add((String) clip.get("test"));
            JSONArray clipRefs = (JSONArray) clip.get("refs");
            chunks.add(clipRefs.size());
            for (Object ref : clipRefs) {
                refs.add((String) ref);
            }
        }

        boolean synsets = true;  // SpiceScorer's default (no -noSynsets)
        SpiceParser parser = new SpiceParser(cache, threads, synsets);
        List<SceneGraph> refGraphs = parser.parseCaptions(refs, chunks);
        List<SceneGraph> testGraphs = parser.parseCaptions(tests);

        Map<String, TupleFilter> filters = new HashMap<>();  // the -subset categories
        filters.put("Object", TupleFilter.objectFilter);
        filters.put("Attribute", TupleFilter.attributeFilter);
        filters.put("Relation", TupleFilter.relationFilter);
        filters.put("Cardinality", TupleFilter.cardinalityFilter);
        filters.put("Color", TupleFilter.colorFilter);
        filters.put("Size", TupleFilter.sizeFilter);
        SpiceStats stats = new SpiceStats(filters, false);
        for (int i = 0; i < testGraphs.size(); ++i) {
            stats.score(imageIds.get(i), testGraphs.get(i), refGraphs.get(i), synsets);
        }
        try (Writer writer = Files.newBufferedWriter(Paths.get(args[1]), StandardCharsets.UTF_8)) {
            writer.write(stats.toJSONString());
        }
    }
}
"""


def write_driver(folder: Path) -> Path:
    """Write ``ClipaacSpice.java`` into ``folder`` (if it differs) and return its path."""
    path = Path(folder) / f"{DRIVER_CLASS}.java"
    if not path.is_file() or path.read_text(encoding="utf-8") != DRIVER_SOURCE:
        atomic_write_text(path, DRIVER_SOURCE)
    return path
