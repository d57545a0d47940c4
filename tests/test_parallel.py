"""backprop.parallel (chapter 13, appendix 96): data-parallel gradients against one process, training, DDP, the
faults that must end in a clear error, the cost model, the command line under torchrun, and bench/parallel.py.

Workers are 1 or 2 processes on 127.0.0.1 (gloo), forked by run_workers, so each run costs a fraction of a second;
the torchrun test starts fresh Pythons (a few seconds). float64 for the equalities, to rtol 1e-10 and atol 1e-14
(an entry near 0 is a cancellation: its rounding error is absolute)."""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
from torch.testing import assert_close

from backprop.data import load_mnist_sample, normalise, train_valid_split
from backprop.fast import fast_forward_and_backward
from backprop.forward import init_params
from backprop.grads import forward_and_backward
from backprop.losses import classifier_forward_and_backward, evaluate_classifier, train_classifier
from backprop.parallel import (WorkerError, all_reduce_grads, breaking_point, main, overlapped_forward_and_backward,
                               parallel_forward_and_backward, predict_step, ring_allreduce_time, run_workers, scaling,
                               shard, sync_params, worker_ddp, worker_fault, worker_fit, worker_grads)
from backprop.train import fit

root = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def digits():
    x_train, y_train, x_valid, y_valid = train_valid_split(*load_mnist_sample())
    x_train, x_valid = normalise(x_train, x_valid)
    return x_train.double(), y_train, x_valid.double(), y_valid


def params_of(n_out, hidden=32, seed=0):
    return init_params(784, hidden, n_out, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


# --- shards -------------------------------------------------------------------------------------------------------

def test_shards_are_contiguous_cover_the_batch_and_differ_by_at_most_one_row():
    checked = 0
    for n in range(1, 40):
        for P in range(1, n + 1):
            rows = [shard(n, r, P) for r in range(P)]
            assert rows[0][0] == 0 and rows[-1][1] == n
            assert all(a[1] == b[0] for a, b in zip(rows, rows[1:]))
            sizes = [e - s for s, e in rows]
            assert min(sizes) >= 1 and max(sizes) - min(sizes) <= 1 and sizes == sorted(sizes, reverse=True)
            checked += 1
    assert checked == sum(range(1, 40))


@pytest.mark.parametrize("args, message", [
    ((2, 0, 3), "a batch of 2 row(s) cannot be split across 3 workers"),
    ((8, 3, 3), "rank 3 is not a worker of a world of 3"),
    ((8, -1, 3), "rank must be an int >= 0"),
    ((8, 0, 0), "world_size must be a positive int"),
    ((8.0, 0, 2), "n, the batch size, must be a positive int"),
])
def test_shard_rejects_what_cannot_be_split(args, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        shard(*args)


def test_the_weighted_sum_of_the_shards_gradients_is_the_batchs_and_the_plain_average_is_not(digits):
    x, y = digits[0][:64], digits[1][:64]
    params = params_of(10)
    whole = [classifier_forward_and_backward(x, y, *params), *(p.g for p in params)]
    sizes = [60, 4]
    parts = [[classifier_forward_and_backward(xs, ys, *params), *(p.g for p in params)]
             for xs, ys in zip(x.split(sizes), y.split(sizes))]
    for i, g in enumerate(whole):
        assert_close(sum(n / 64 * part[i] for n, part in zip(sizes, parts)), g, rtol=1e-10, atol=1e-14)
        plain = sum(part[i] for part in parts) / 2
        assert (plain - g).norm() > 1e-3 * g.norm()        # not a rounding difference: another loss's gradient


# --- on workers: gradients, training, DDP -------------------------------------------------------------------------

def test_all_reduced_gradients_equal_one_process_for_1_and_2_workers_equal_and_unequal_shards(digits):
    x, y = digits[0][:64], digits[1][:64]
    cases = [(f, x[:n], t[:n], ps) for n in (64, 63) for f, t, ps in
             ((forward_and_backward, y.double(), params_of(1)), (classifier_forward_and_backward, y, params_of(10)),
              (fast_forward_and_backward, y.double(), params_of(1, seed=2)))]
    wanted = [[f(inp, targ, *ps), *(p.g for p in ps)] for f, inp, targ, ps in cases]
    checked = 0
    for P in (1, 2):
        results = run_workers(worker_grads, P, cases)
        assert len(results) == P
        for worker in results:
            for got, want in zip(worker, wanted):
                for g, w in zip(got, want):
                    assert_close(g, w, rtol=1e-10, atol=1e-14)
                    checked += 1
    assert checked == 3 * len(cases) * 5


def overlapped_worker(rank, world_size, inp, targ, params, overlap):
    loss = overlapped_forward_and_backward(inp, targ, *params, overlap=overlap)
    return [loss, *(p.g for p in params)]


@pytest.mark.parametrize("n", [64, 63])
def test_the_written_out_step_gives_the_same_gradients_with_and_without_overlap(digits, n):
    x, y = digits[0][:n], digits[1][:n]
    params = params_of(10)
    want = [classifier_forward_and_backward(x, y, *params), *(p.g for p in params)]
    for overlap in (True, False):
        for worker in run_workers(overlapped_worker, 2, x, y, params, overlap):
            for g, w in zip(worker, want):
                assert_close(g, w, rtol=1e-10, atol=1e-14)


def default_step_worker(rank, world_size, inp, targ, params, input_grad):
    loss = parallel_forward_and_backward(inp, targ, *params, input_grad=input_grad)    # the default fwd_bwd
    return [loss, *(p.g for p in params)] + ([inp.g] if input_grad else [])


@pytest.mark.parametrize("n", [64, 63])
def test_the_default_step_is_the_fast_path_and_gives_inp_g_only_when_asked(digits, n):
    "Against chapter 3's pass in one process: the loss and .g without inp.g by default; with input_grad=True, the whole batch's inp.g."
    import inspect
    assert inspect.signature(parallel_forward_and_backward).parameters["fwd_bwd"].default is fast_forward_and_backward
    x, y = digits[0][:n], digits[1][:n].double()
    params = params_of(1, seed=3)
    want = [forward_and_backward(x, y, *params), *(p.g for p in params), x.g]       # chapter 3 computes inp.g
    for input_grad in (False, True):
        workers = run_workers(default_step_worker, 2, x, y, params, input_grad)
        for got in workers:
            assert len(got) == 5 + input_grad
            for g, w in zip(got, want): assert_close(g, w, rtol=1e-10, atol=1e-14)


def test_training_on_two_workers_ends_with_one_process_weights(digits):
    x_train, y_train, x_valid, y_valid = digits
    data = (x_train[:640], y_train[:640], x_valid[:200], y_valid[:200])    # 10 steps
    params = params_of(10)
    one = [p.clone() for p in params]
    fit(one, data, classifier_forward_and_backward, evaluate_classifier, lr=0.2, decay=True, max_shift=2, verbose=False)
    workers = run_workers(worker_fit, 2, data, params)
    for ws in workers:
        for w, w_one in zip(ws, one):
            assert_close(w, w_one, rtol=1e-10, atol=1e-14)
    assert all(torch.equal(a, b) for a, b in zip(*workers))     # the workers agree bit for bit
    assert not all(torch.equal(a, b) for a, b in zip(params, one))   # and training moved the weights


def test_ddp_gets_our_gradients_with_equal_shards_and_the_plain_average_with_unequal_ones(digits):
    import torch._dynamo  # noqa: F401   DDP imports it: once here, not in each forked worker
    x, y = digits[0][:64], digits[1][:64]
    params = params_of(10)
    for n in (64, 63):
        want = [classifier_forward_and_backward(x[:n], y[:n], *params), *(p.g for p in params)][1:]
        as_is, scaled = run_workers(worker_ddp, 2, x[:n], y[:n], params)[0]
        for g, w in zip(scaled, want):
            assert_close(g, w, rtol=1e-10, atol=1e-14)
        err = max(((g - w).norm() / w.norm()).item() for g, w in zip(as_is, want))
        assert err < 1e-12 if n == 64 else err > 1e-3


# --- faults -------------------------------------------------------------------------------------------------------

def test_more_workers_than_rows_is_the_same_clear_error_on_every_worker(digits):
    x, y = digits[0][:1], digits[1][:1]
    with pytest.raises(WorkerError) as e:
        run_workers(worker_grads, 2, [(classifier_forward_and_backward, x, y, params_of(10))])
    msg = str(e.value)
    assert "rank 0 of 2 raised ValueError: parallel_forward_and_backward: a batch of 1 row(s) cannot be split " \
           "across 2 workers" in msg
    assert "rank(s) 1 raised the same error" in msg


def test_a_worker_that_raises_stops_the_others_quickly_with_its_error():
    start = time.perf_counter()
    with pytest.raises(WorkerError, match="rank 1 of 2 raised ValueError: a bug on rank 1") as e:
        run_workers(worker_fault, 2, "raise", timeout=20.)
    assert time.perf_counter() - start < 10          # the others fail at once: far less than the timeout
    assert "then rank 0 raised" in str(e.value)
    assert "a bug on rank 1" in str(e.value.__cause__)   # the worker's traceback, as the cause
    assert "worker_fault" in str(e.value.__cause__)


def hangs(rank, world_size):
    if rank == 1:
        time.sleep(60)
    dist.all_reduce(torch.ones(1))


def test_a_worker_that_hangs_is_stopped_at_the_deadline_and_named_first():
    # the all-reduce that rank 0 waits in times out at half the run's timeout; rank 1 is still asleep at the deadline
    start = time.perf_counter()
    with pytest.raises(WorkerError, match=r"^run_workers: rank\(s\) 1 of 2 still running at the deadline, 3 s after the "
                                          r"start: stopped") as e:
        run_workers(hangs, 2, timeout=3.)
    assert 3 <= time.perf_counter() - start < 10
    assert "then rank 0 raised RuntimeError" in str(e.value) and "Timed out" in str(e.value)


def sleeps_on_rank_1(rank, world_size):
    if rank == 1:
        time.sleep(60)                                  # no collective: nobody waits for it, nobody times out
    return rank


def test_a_worker_that_hangs_while_the_others_finish_is_stopped_at_the_deadline():
    start = time.perf_counter()
    with pytest.raises(WorkerError, match=r"^run_workers: rank\(s\) 1 of 2 still running at the deadline, 2 s after the "
                                          r"start: stopped \(a worker that sleeps, loops"):
        run_workers(sleeps_on_rank_1, 2, timeout=2.)
    assert 2 <= time.perf_counter() - start < 10


def test_parameter_shapes_that_differ_across_workers_are_found_before_the_first_step():
    with pytest.raises(WorkerError, match=re.escape(
            "sync_params: parameter 0 is float32 of shape (784, 256) on rank 0 but float32 of shape (784, 128) "
            "on rank 1; every worker must build the same model")):
        run_workers(worker_fault, 2, "shapes")


def dies(rank, world_size):
    import os
    if rank == 1:
        os._exit(3)                                     # no exception, no report: as a crash in C would
    dist.all_reduce(torch.ones(1))


def test_a_worker_that_dies_without_a_word_is_reported():
    with pytest.raises(WorkerError) as e:
        run_workers(dies, 2, timeout=2.)
    assert "rank 1 of 2 exited with code 3 without a result" in str(e.value)


def test_every_run_leaves_no_rendezvous_behind(monkeypatch):
    made, mkdtemp = [], tempfile.mkdtemp
    def recorded(*args, **kwargs):              # the folders run_workers makes (other tests run beside this one)
        made.append(mkdtemp(*args, **kwargs)); return made[-1]
    monkeypatch.setattr(tempfile, "mkdtemp", recorded)
    assert run_workers(worker_grads, 2, []) == [[], []]
    with pytest.raises(WorkerError): run_workers(dies, 2, timeout=2.)
    assert len(made) == 2 and all(Path(p).name.startswith("backprop-rendezvous-") for p in made)
    assert not any(os.path.exists(p) for p in made)


@pytest.mark.parametrize("kwargs, message", [
    (dict(fn=3, world_size=2), "fn must be a function"),
    (dict(world_size=0), "world_size must be a positive int"),
    (dict(timeout=0), "timeout must be a number of seconds from 1 to 86,400 (a day), got 0"),
])
def test_run_workers_rejects_bad_arguments(kwargs, message):
    args = dict(fn=worker_grads, world_size=2) | kwargs
    with pytest.raises((TypeError, ValueError), match=re.escape(message)):
        run_workers(args.pop("fn"), args.pop("world_size"), **args)


def test_the_data_parallel_functions_need_a_process_group(digits):
    x, y = digits[0][:8], digits[1][:8]
    for call in (lambda: parallel_forward_and_backward(x, y, *params_of(10), fwd_bwd=classifier_forward_and_backward),
                 lambda: overlapped_forward_and_backward(x, y, *params_of(10)),
                 lambda: all_reduce_grads([torch.ones(2)]), lambda: sync_params(list(params_of(10)))):
        with pytest.raises(RuntimeError, match="torch.distributed is not initialised"):
            call()


def bad_calls(rank, world_size, x, y, params):
    "Every bad call made on a worker, and the error it got."
    calls = {"mixed dtypes": lambda: all_reduce_grads([torch.ones(2), torch.ones(2, dtype=torch.float64)]),
             "not a list": lambda: all_reduce_grads(torch.ones(2)),
             "weight nan": lambda: all_reduce_grads([torch.ones(2)], float("nan")),
             "float labels": lambda: overlapped_forward_and_backward(x, y.double(), *params),
             "label 10": lambda: overlapped_forward_and_backward(x, torch.full_like(y, 10), *params),
             "targ too short": lambda: parallel_forward_and_backward(x, y[:-1], *params),
             "no params": lambda: parallel_forward_and_backward(x, y),
             "a .g not set": lambda: parallel_forward_and_backward(x, y, *no_g, fwd_bwd=lambda inp, targ, *ps: torch.zeros(()))}
    no_g = [p.clone() for p in params]
    for p in no_g:
        p.g = None                                      # as fit leaves them before each step
    return errors_of(calls)


def errors_of(calls, before_each=lambda: None):
    "What each of `calls` (name: call) raised, as 'Type: message', or 'no error'."
    out = {}
    for name, call in calls.items():
        before_each()
        try:
            call()
            out[name] = "no error"
        except Exception as e:
            out[name] = f"{type(e).__name__}: {e}"
    return out


def test_bad_input_on_a_worker_gets_a_clear_error(digits):
    x, y = digits[0][:8], digits[1][:8]
    got = run_workers(bad_calls, 1, x, y, params_of(10))[0]
    expected = {"mixed dtypes": "TypeError: all_reduce_grads: the tensors share one flat buffer, so they must have one dtype",
                "not a list": "TypeError: all_reduce_grads: tensors must be a list of tensors, got Tensor",
                "weight nan": "ValueError: all_reduce_grads: weight must be a finite number",
                "float labels": "TypeError: overlapped_forward_and_backward: targ must be a 1-D int64 tensor of class labels",
                "label 10": "ValueError: overlapped_forward_and_backward: labels must be in [0, 9] for 10 classes",
                "targ too short": "ValueError: parallel_forward_and_backward: targ must be a tensor with one row per row of inp",
                "no params": "TypeError: parallel_forward_and_backward: params must be one or more tensors",
                "a .g not set": "TypeError: all_reduce_grads: tensors must be one or more tensors, got ['Tensor', 'NoneType', "
                                "'NoneType', 'NoneType', 'NoneType']; a None is a .g that fwd_bwd did not set"}
    assert set(got) == set(expected)
    for name, start in expected.items():
        assert got[name].startswith(start), (name, got[name])


def disagreeing_workers(rank, world_size):
    "On 2 workers, each case makes rank 1 differ in one thing; what each rank raised, per case."
    import backprop.guards
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(8, 5, generator=g), torch.arange(8) % 10
    ps = list(init_params(5, 4, 10, generator=g))
    one = rank == 1
    cases = {
        "batch size": lambda: parallel_forward_and_backward(x[:6] if one else x, y[:6] if one else y, *ps,
                                                            fwd_bwd=classifier_forward_and_backward),
        "hidden size": lambda: parallel_forward_and_backward(x, y, *init_params(5, 8 if one else 4, 10),
                                                             fwd_bwd=classifier_forward_and_backward),
        "dtype": lambda: parallel_forward_and_backward(x.double() if one else x, y, *[p.double() if one else p for p in ps],
                                                       fwd_bwd=classifier_forward_and_backward),
        "labels' dtype": lambda: overlapped_forward_and_backward(x, y.int() if one else y, *ps),
        "bucket shape": lambda: all_reduce_grads([torch.ones(3 if one else 4)]),
        "bucket dtype": lambda: all_reduce_grads([torch.ones(4, dtype=torch.float64 if one else torch.float32)]),
    }
    return errors_of(cases, before_each=backprop.guards._compared.clear)   # each case a first call: compared everywhere


def test_workers_that_disagree_are_named_before_any_all_reduce():
    # without the comparison, gloo aborts a worker in C++ (exit -6) on buckets of other sizes, or a weight sum of 0.75
    # scales the gradient silently; with it every rank raises the same error, naming the tensor and both values
    results = run_workers(disagreeing_workers, 2, timeout=30.)
    expected = {
        "batch size": "parallel_forward_and_backward: the batch size is 8 rows on rank 0 but 6 rows on rank 1",
        "hidden size": "parallel_forward_and_backward: params[0] is float32 of shape (5, 4) on rank 0 but float32 of "
                       "shape (5, 8) on rank 1",
        "dtype": "parallel_forward_and_backward: inp is float32 of shape (8, 5) on rank 0 but float64 of shape (8, 5) on rank 1",
        "labels' dtype": "overlapped_forward_and_backward: targ is int64 of shape (8,) on rank 0 but int32 of shape (8,) on rank 1",
        "bucket shape": "all_reduce_grads: tensors[0] is float32 of shape (4,) on rank 0 but float32 of shape (3,) on rank 1",
        "bucket dtype": "all_reduce_grads: tensors[0] is float32 of shape (4,) on rank 0 but float64 of shape (4,) on rank 1",
    }
    for rank, got in enumerate(results):
        assert set(got) == set(expected)
        for name, text in expected.items():
            assert got[name].startswith(f"ValueError: {text}; "), (rank, name, got[name])


def test_the_comparison_is_made_once_per_process_group_and_fwd_bwd_must_set_every_g(digits):
    x, y = digits[0][:8], digits[1][:8]
    got = run_workers(compared_once, 1, x, y, params_of(10))[0]
    assert got["gathers"] == 2                        # parallel_forward_and_backward's, then all_reduce_grads': once each
    assert got["forgot b2.g"].startswith("TypeError: all_reduce_grads: tensors must be one or more tensors, got ['Tensor', "
                                         "'Tensor', 'Tensor', 'Tensor', 'NoneType']; a None is a .g that fwd_bwd did not set")


def compared_once(rank, world_size, x, y, params):
    "Count the all_gather_object calls of three steps; then a fwd_bwd that sets no b2.g, after steps that set it."
    gathers, real = [0], dist.all_gather_object
    def counting(*a, **k):
        gathers[0] += 1
        return real(*a, **k)
    dist.all_gather_object = counting
    try:
        for _ in range(3):
            parallel_forward_and_backward(x, y, *params, fwd_bwd=classifier_forward_and_backward)
    finally:
        dist.all_gather_object = real
    def forgets_b2(inp, targ, w1, b1, w2, b2):
        return classifier_forward_and_backward(inp, targ, w1, b1, w2, b2.clone())   # sets the copy's .g, not b2.g
    return {"gathers": gathers[0],
            **errors_of({"forgot b2.g": lambda: parallel_forward_and_backward(x, y, *params, fwd_bwd=forgets_b2)})}


# --- the cost model -----------------------------------------------------------------------------------------------

def test_the_ring_cost_model():
    alpha, beta, B = 1e-5, 1e10, 1e6
    assert ring_allreduce_time(1, B, alpha, beta) == 0                            # one worker sends nothing
    assert ring_allreduce_time(2, B, alpha, beta) == pytest.approx(2 * alpha + B / beta)
    assert ring_allreduce_time(1024, B, alpha, beta) == pytest.approx(2 * 1023 * alpha + 2 * 1023 / 1024 * B / beta)
    t_c = 1e-3
    for P in (1, 2, 64, 1024):
        assert predict_step(P, t_c, B, alpha, beta, overlap=True) <= predict_step(P, t_c, B, alpha, beta)
        step, speedup, eff = scaling(P, t_c, B, alpha, beta)
        assert speedup == pytest.approx(P * eff) and 0 < eff <= 1
    # more rows per worker (more compute per byte sent) move the breaking point out; so does overlap
    assert breaking_point(16 * t_c, B, alpha, beta) > breaking_point(t_c, B, alpha, beta)
    assert breaking_point(t_c, B, alpha, beta, overlap=True) >= breaking_point(t_c, B, alpha, beta)


# --- the command line and the benchmark ---------------------------------------------------------------------------

def test_torchrun_trains_on_two_workers_to_the_single_process_accuracy():
    torchrun = shutil.which("torchrun", path=str(Path(sys.executable).parent))
    assert torchrun, "torchrun is installed with torch"
    res = subprocess.run([torchrun, "--standalone", "--nproc_per_node=2", "-m", "backprop.parallel", "--epochs", "2",
                          "--dtype", "float64"], cwd=root, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr[-3000:]
    out = res.stdout
    assert "2 worker(s), gloo: each batch of 64 rows split [32, 32]" in out
    assert out.count("train_loss") == 1                                   # rank 0 prints; rank 1 does not
    rows = re.findall(r"^\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+[\d.]+s$", out, re.M)
    assert [r[0] for r in rows] == ["1", "2"]
    acc = float(re.search(r"final validation accuracy: ([\d.]+) .* on 2 worker\(s\)", out).group(1))
    _, hist = train_classifier(epochs=2, verbose=False, dtype=torch.float64)     # in float64 the same to the last digit
    assert acc == round(hist["epoch"][-1]["valid_acc"], 4)


def test_the_command_line_rejects_bad_settings():
    with pytest.raises(ValueError, match=re.escape("main: --threads must be a positive int, got 0")):
        main(["--threads", "0"])


def test_bench_prints_the_comparison_with_ddp(tmp_path, capsys):
    import importlib.util
    spec = importlib.util.spec_from_file_location("bench_parallel", root / "bench" / "parallel.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)                      # in this process: no second start of torch
    summary = bench.main(["--rounds", "3", "--json", str(tmp_path / "b.json")])
    out = capsys.readouterr().out
    for variant in ("ours, one bucket", "ours, written out, one bucket", "ours, written out, overlapped", "DDP",
                    "DDP, gradient_as_bucket_view"):
        assert f"| classifier 784-256-10 | {variant} |" in out
        assert summary[f"classifier 784-256-10 | {variant}"]["median_ms"] > 0
    assert re.search(r"the fastest, .*: [\d.]+x \(issue 16's target <= 1.0: (met|NOT met)\)", out)
    for rows in (32, 2048):                             # issue 22: the default step (the fast path) against DDP on nn.Linear
        name = f"regression 784-50-1, {rows} rows/worker"
        for variant in ("ours, default step", "DDP", "DDP, gradient_as_bucket_view"):
            assert f"| {name} | {variant} |" in out and summary[f"{name} | {variant}"]["median_ms"] > 0
        assert re.search(rf"the default step / DDP \(nn.Linear\) on the {name}, paired: [\d.]+x \(issue 22's target <= 0.90: (met|NOT met)\)", out)
    assert (tmp_path / "b.json").exists()
