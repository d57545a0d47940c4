"""bench/gpt.py (chapter 16's time and memory): its quick mode runs and reports every variant, and its memory
counters count what they claim."""
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

root = Path(__file__).resolve().parent.parent


def load_bench():
    sys.path.insert(0, str(root / "bench"))       # bench/gpt.py imports bench/run.py as `run`
    spec = importlib.util.spec_from_file_location("bench_gpt", root / "bench" / "gpt.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_quick_mode_reports_every_variant_and_the_goals():
    res = subprocess.run([sys.executable, str(root / "bench" / "gpt.py"), "--quick", "--reps", "2"],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    bench = load_bench()
    rows = [line for line in res.stdout.splitlines() if line.startswith("| chapter")]
    assert [line.split("|")[2].strip() for line in rows] == list(bench.VARIANTS)
    for line in rows:                                  # median ms, two time ratios, saved MiB, ratio, peak MiB, ratio
        assert all(float(x) > 0 for x in line.split("|")[3:10])
    baseline = next(line for line in rows if bench.BASELINE in line)
    assert [float(baseline.split("|")[i]) for i in (4, 5, 7, 9)] == [1.0] * 4     # its own ratios
    assert re.search(r"hand-written / autograd, same forward: time \d\.\d\dx .*peak memory \d\.\d\dx", res.stdout)


def test_peak_memory_counts_what_is_alive_at_once():
    bench = load_bench()
    def step():
        a = torch.ones(1024, 256)                      # 1 MiB
        b = a * 2                                      # 2 MiB alive
        del a
        c = b + 1                                      # 2 MiB alive again (a was freed)
        b.mul_(3)                                      # in place: nothing new
        return c.sum()
    assert bench.peak_mib(step) == pytest.approx(2.0, abs=0.01)


def test_saved_mib_of_the_hand_written_pass_is_the_size_of_its_saved_dict():
    bench = load_bench()
    params, idx, targets, n_head = bench.make_case("chapter")
    B, T, C, _, n_layer = bench.SIZES["chapter"]
    per_position = n_layer * (12 * C + 4) + 2 * C + 2 + 27    # 12C + 4 stats per block; lnf's x, out, stats; logits
    assert bench.saved_mib("hand-written", params, idx, targets, n_head) == pytest.approx(B * T * per_position * 4 / 2**20)
    assert bench.saved_mib(bench.BASELINE, params, idx, targets, n_head) > 1.5 * bench.saved_mib("hand-written", params, idx, targets, n_head)


def test_the_functional_model_is_the_same_model():
    bench = load_bench()
    params, idx, targets, n_head = bench.make_case("chapter")
    params = {k: v.double() for k, v in params.items()}
    ours = bench.gpt_forward(idx, targets, params, n_head)[0]
    for sdpa in (False, True):
        torch.testing.assert_close(bench.functional_forward(idx, targets, params, n_head, sdpa), ours, rtol=1e-10, atol=0)


@pytest.mark.parametrize("argv, message", [(["--reps", "0"], "--reps must be a positive"), (["--threads", "0"], "--threads must be at least 1"),
                                          (["--device", "cuda:7"], "sees no CUDA device")])
def test_bad_arguments_are_refused(capsys, argv, message):
    if "cuda" in argv[-1] and torch.cuda.is_available(): pytest.skip("a GPU is present")
    with pytest.raises(SystemExit) as e: load_bench().main(argv)
    assert e.value.code == 2 and message in capsys.readouterr().err
