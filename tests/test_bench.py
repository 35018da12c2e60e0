"""The latency benchmark: its statistics, its FLOP counts, and a tiny end-to-end `malade bench` run."""
from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch

from malade_export.bench.flops import chain_macs, count_macs, defensegan_macs
from malade_export.bench.timing import percentile, summarize, time_callable
from malade_export.chain import MaladeDefense, load_defense
from malade_export.models import build_model
from malade_export.models.gan import Generator

SHAPE = [1, 28, 28]


def sdae_macs(c: int) -> int:
    """Analytic MACs at 28 x 28 (conv: out pixels x C_in x C_out x k^2; convT: in pixels x C_in x C_out x k^2)."""
    return (14 * 14 * 1 * c * 25  # Conv 1->c, s2: 28 -> 14
            + 7 * 7 * c * c * 25  # Conv c->c, s2: 14 -> 7
            + 7 * 7 * c * c * 25  # ConvT c->c, s2: 7 -> 14
            + 14 * 14 * c * c * 25  # ConvT c->c, s2: 14 -> 28
            + 28 * 28 * c * 1 * 25)  # Conv c->1, s1


SDAE_MACS = sdae_macs(64)
DEFAULT_SDAE_MACS = sdae_macs(48)  # the bundled default sDAE's width
CLASSIFIER_A_MACS = 28 * 28 * 64 * 25 + 12 * 12 * 64 * 64 * 25 + 12 * 12 * 64 * 128 + 128 * 10
GENERATOR_MACS = 128 * 4096 + 4 * 4 * 256 * 128 * 25 + 7 * 7 * 128 * 64 * 25 + 14 * 14 * 64 * 1 * 25


def test_percentiles_of_a_known_list() -> None:
    samples = [5.0, 1.0, 4.0, 2.0, 3.0]
    assert percentile(samples, 50) == 3.0
    assert percentile(samples, 90) == pytest.approx(4.6)
    assert percentile(samples, 99) == pytest.approx(4.96)
    assert percentile([7.0], 99) == 7.0
    stats = summarize(samples, batch=4)
    assert (stats.median_s, stats.mean_s, stats.min_s, stats.reps) == (3.0, 3.0, 1.0, 5)
    assert stats.throughput == pytest.approx(4 / 3.0)
    many = list(np.random.default_rng(0).exponential(size=101))
    for q in (50, 90, 99):
        assert percentile(many, q) == pytest.approx(float(np.percentile(many, q)))


def test_percentile_rejects_empty_and_out_of_range() -> None:
    with pytest.raises(ValueError):
        percentile([], 50)
    with pytest.raises(ValueError):
        percentile([1.0], 101)


def test_time_callable_warms_up_then_counts_reps() -> None:
    calls = []
    stats = time_callable(lambda: calls.append(1), batch=1, warmup=2, reps=7)
    assert len(calls) == 9 and stats.reps == 7
    stopped = time_callable(lambda: calls.append(1), batch=1, warmup=0, reps=1000, budget_s=0.0, min_reps=3)
    assert stopped.reps == 3


def test_rounds_interleave_cases_with_one_runner_alive_and_pool_the_samples(monkeypatch) -> None:
    from malade_export.bench import latency
    from malade_export.bench.latency import BenchConfig, Case, _time_cases

    def fixed_samples(fn, warmup, reps, budget_s, min_reps):  # the calls as made, times fixed at 10 ms
        for _ in range(warmup + reps):
            fn()
        return [0.010] * reps
    monkeypatch.setattr(latency, "sample_callable", fixed_samples)

    events: list[str] = []
    alive: list[str] = []

    def factory(name: str, scale: float = 1.0) -> Case:
        def make() -> object:
            assert not alive, "a runner was built while another was still alive"
            alive.append(name)
            events.append(f"build {name}")

            class Runner:
                def __call__(self) -> None:
                    events.append(name)

                def __del__(self) -> None:
                    alive.remove(name)
            return Runner()
        return Case({"kind": "malade", "backend": name, "steps": 10, "batch": 2}, make, 1000, name, warmup=1,
                    reps=4, scale=scale)

    cases = [factory("a"), factory("b", scale=3.0)]
    rows = _time_cases(cases, BenchConfig(rounds=2, budget_s=100.0), lambda line: None, {},
                       before_pass=lambda: events.append("peak"))
    # per pass: the matmul peak, then per case: build, 1 warm-up + 2 timed calls, free
    assert events == ["peak", "build a", "a", "a", "a", "build b", "b", "b", "b"] * 2
    assert [row["reps"] for row in rows] == [4, 4] and not alive
    assert rows[0]["median_ms"] == pytest.approx(10.0) and rows[1]["median_ms"] == pytest.approx(30.0)  # scaled
    assert rows[1]["gflop_per_sample"] == pytest.approx(2e-6) and rows[1]["throughput"] == pytest.approx(2 / 0.030)
    assert rows[1]["pass_medians_ms"] == pytest.approx([30.0, 30.0])  # one median per pass, for paired ratios


def test_defensegan_is_timed_next_to_the_goal_ratios_malade_cases() -> None:
    from malade_export.bench.latency import Case, _ratio_pairs_adjacent

    def case(kind: str, steps: int, batch: int) -> Case:
        return Case({"kind": kind, "steps": steps, "batch": batch}, lambda: None, 1, f"{kind} {steps} {batch}", 1, 1)

    malade = [case("malade", n, b) for n in (10, 25) for b in (1, 64)]
    dgan = [case("defensegan", 200, 1)]
    ordered = [c.label for c in _ratio_pairs_adjacent(malade, dgan, n=10)]
    assert ordered == ["malade 10 1", "defensegan 200 1", "malade 10 64", "malade 25 1", "malade 25 64"]


@pytest.mark.parametrize("channels", [64, 48])
def test_sdae_macs_match_the_analytic_count(channels) -> None:
    sdae = build_model({"kind": "sdae", "input_shape": SHAPE, "channels": channels, "kernel": 5})
    assert SDAE_MACS == 31_673_600  # ~31.6 M MACs for the paper's 64-channel sDAE
    assert count_macs(sdae, torch.zeros(3, *SHAPE)) == sdae_macs(channels)  # per sample, whatever the batch


def test_chain_and_defensegan_macs() -> None:
    classifier = build_model({"kind": "classifier", "arch": "A", "input_shape": SHAPE, "num_classes": 10})
    sdae = build_model({"kind": "sdae", "input_shape": SHAPE, "channels": 64, "kernel": 5})
    assert count_macs(classifier, torch.zeros(1, *SHAPE)) == CLASSIFIER_A_MACS
    for votes in (1, 3):
        chain = MaladeDefense(classifier, sdae, 0.3, tuple(SHAPE), steps=10, votes=votes)
        assert chain_macs(chain)["total"] == SDAE_MACS + votes * (9 * SDAE_MACS + CLASSIFIER_A_MACS)
    dgan = defensegan_macs(Generator(1), classifier, steps=200, restarts=10)
    assert dgan["generator"] == GENERATOR_MACS
    assert dgan["total"] == 10 * 401 * GENERATOR_MACS + CLASSIFIER_A_MACS


def test_the_bundled_chain_has_the_default_sdae_width() -> None:
    assert chain_macs(load_defense(steps=10).defense)["total"] == 10 * DEFAULT_SDAE_MACS + CLASSIFIER_A_MACS


def test_goal_ratios_cap_the_defensegan_ratio_at_the_matmul_peak() -> None:
    from malade_export.bench.report import goal_ratios

    def row(**kw: object) -> dict[str, object]:
        return {"kind": "malade", "steps": 10, "batch": 1, "gflops": 1.0, **kw}

    report = {"config": {"steps": [10], "batches": [1], "dgan_steps": 200}, "matmul_peak": {"gflops": 100.0},
              "rows": [row(backend="ort-cpu", median_ms=10.0, gflop_per_sample=0.7),
                       row(backend="pytorch-eager", median_ms=25.0, gflop_per_sample=0.7),
                       {"kind": "defensegan", "steps": 200, "restarts": 10, "batch": 1, "median_ms": 2000.0}]}
    ratios = goal_ratios(report)
    assert ratios["defensegan_L200_R10_over_malade_N10_ort_cpu_batch1"] == pytest.approx(200.0)
    assert ratios["malade_N10_batch1_ms_at_matmul_peak"] == pytest.approx(7.0)  # 0.7 GFLOP at 100 GFLOP/s
    assert ratios["defensegan_L200_R10_over_malade_N10_at_matmul_peak"] == pytest.approx(2000.0 / 7.0)
    assert ratios["eager_over_ort_cpu_batch1_N10"] == pytest.approx(2.5)


def test_seed_overhead_is_the_median_of_per_pass_ratios() -> None:
    from malade_export.bench.report import format_ratios, goal_ratios

    def row(backend: str, passes: list[float]) -> dict[str, object]:
        return {"kind": "malade", "steps": 10, "batch": 1, "backend": backend, "gflops": 1.0,
                "gflop_per_sample": 0.7, "median_ms": sorted(passes)[1], "pass_medians_ms": passes}

    # A slow middle pass hits both backends alike: paired, it cancels; pooled medians would read +25 %.
    report = {"config": {"steps": [10], "batches": [1], "dgan_steps": 200}, "matmul_peak": {"gflops": 100.0},
              "rows": [row("ort-cpu", [10.0, 20.0, 8.0]), row("ort-cpu-seed", [10.5, 21.0, 10.0])]}
    ratios = goal_ratios(report)
    assert ratios["ort_seed_mode_overhead_vs_noise_input"]["batch1"] == pytest.approx(0.05)
    assert ratios["ort_seed_mode_overhead_per_pass"]["batch1"] == pytest.approx([0.05, 0.05, 0.25])
    report["ratios"] = ratios
    assert "batch1: +5.0 % (median of 3 per-pass ratios, +5.0 to +25.0 %)" in format_ratios(report)
    assert "Session.predict" not in format_ratios(report)  # end-to-end backends not run: no line

    report["rows"] += [row("ort-session", [12.0, 24.0, 10.0]), row("ort-session-seed", [11.4, 22.8, 9.0])]
    report["ratios"] = goal_ratios(report)
    assert report["ratios"]["session_seed_mode_overhead_vs_noise_input"]["batch1"] == pytest.approx(-0.05)
    assert "seed file vs noise-input file (host noise), batch1: -5.0 %" in format_ratios(report)


def test_session_backends_time_a_whole_predict_call(tmp_path) -> None:
    from malade_export.bench.artifacts import bench_checkpoints, export_chain
    from malade_export.bench.backends import make_runner
    from malade_export.chain import load_defense

    classifier, sdae, _ = bench_checkpoints(tmp_path)
    files = export_chain(load_defense(classifier, sdae, steps=2), tmp_path)
    for backend in ("ort-session", "ort-session-seed"):
        run = make_runner(backend, files, 3, 1)
        first, second = run(), run()
        assert first.labels.shape == (3,)
        assert not np.array_equal(first.seeds, second.seeds)  # fresh seeds each call, as in production
        assert not np.array_equal(first.purified, second.purified)


def test_openvino_backend_runs_the_onnx_file_like_onnx_runtime(tmp_path) -> None:
    pytest.importorskip("openvino")
    from malade_export.bench.artifacts import bench_checkpoints, export_chain
    from malade_export.bench.backends import make_runner
    from malade_export.chain import load_defense

    classifier, sdae, _ = bench_checkpoints(tmp_path)
    files = export_chain(load_defense(classifier, sdae, steps=2), tmp_path)
    ov_outputs = list(make_runner("openvino-cpu", files, 3, 1)().values())
    ort_outputs = make_runner("ort-cpu", files, 3, 1)()  # same x and noise: both seeded by the batch size
    for ov_out, ort_out in zip(ov_outputs, ort_outputs, strict=True):
        np.testing.assert_allclose(np.asarray(ov_out), ort_out, atol=1e-4)


def test_openvino_bf16_backend_runs_in_bf16_or_says_why_not(tmp_path) -> None:
    pytest.importorskip("openvino")
    from malade_export.bench.artifacts import bench_checkpoints, export_chain
    from malade_export.bench.backends import BackendUnavailable, make_runner
    from malade_export.chain import load_defense

    classifier, sdae, _ = bench_checkpoints(tmp_path)
    files = export_chain(load_defense(classifier, sdae, steps=2), tmp_path)
    try:
        runner = make_runner("openvino-cpu-bf16", files, 3, 1)
    except BackendUnavailable as exc:
        assert "bf16" in str(exc)  # a CPU without AVX512-BF16 / AMX: skipped with the reason
        return
    purified = list(runner().values())[1]
    np.testing.assert_allclose(np.asarray(purified), make_runner("ort-cpu", files, 3, 1)()[1], atol=0.05)


def test_bf16_backends_are_judged_against_the_bf16_peak() -> None:
    from malade_export.bench.report import format_ratios, goal_ratios

    def row(backend: str, batch: int, ms: float) -> dict[str, object]:
        return {"kind": "malade", "steps": 10, "batch": batch, "backend": backend, "gflops": 80.0,
                "gflop_per_sample": 0.7, "median_ms": ms}

    report = {"config": {"steps": [10], "batches": [1, 64], "dgan_steps": 200},
              "matmul_peak": {"gflops": 100.0}, "matmul_peak_bf16": {"gflops": 400.0},
              "rows": [row("ort-cpu", 64, 500.0), row("openvino-cpu-bf16", 64, 100.0), row("ort-cpu", 1, 5.0),
                       row("openvino-cpu-bf16", 1, 2.0),
                       {"kind": "defensegan", "steps": 200, "restarts": 10, "batch": 1, "median_ms": 2000.0}]}
    ratios = goal_ratios(report)
    assert ratios["gflops_batch64_N10_fraction_of_matmul_peak"] == {"ort-cpu": 0.8, "openvino-cpu-bf16": 0.2}
    assert ratios["defensegan_L200_R10_over_malade_N10_fastest_batch1"] == {"backend": "openvino-cpu-bf16",
                                                                           "ratio": 1000.0}
    assert ratios["defensegan_L200_R10_over_malade_N10_ort_cpu_batch1"] == 400.0
    report["ratios"] = ratios
    text = format_ratios(report)
    assert "openvino-cpu-bf16: 20.0 % of the measured bf16 matmul peak" in text
    assert "fastest backend: openvino-cpu-bf16), batch 1: 1000.0x" in text


def test_matmul_peak_is_the_best_library_and_records_each() -> None:
    from malade_export.bench.peak import matmul_peak_gflops

    peak = matmul_peak_gflops(size=128, reps=2, threads=1)
    assert {"torch", "onnxruntime"} <= set(peak["by_library"])  # openvino too where it is installed
    assert peak["gflops"] == max(peak["by_library"].values()) == peak["by_library"][peak["library"]]
    assert peak["precision"] == "fp32" and peak["threads"] == 1
    bf16 = matmul_peak_gflops(size=128, reps=2, threads=1, precision="bf16")
    assert "onnxruntime" not in bf16["by_library"] and bf16["gflops"] > 0
    with pytest.raises(ValueError, match="precision"):
        matmul_peak_gflops(size=8, precision="fp8")


def test_matmul_peak_model_asks_only_the_ir_version_its_opset_needs() -> None:
    """The GPU machine's ORT read IR <= 13 while its onnx wrote 14 by default: the peak must not depend on that."""
    from malade_export.bench.peak import matmul_model

    model = matmul_model(4)
    assert model.ir_version == 8  # opset 18 needs IR 8; onnx's default there was 14
    onnx.checker.check_model(model)


def test_defensegan_ratio_is_also_reported_per_pass() -> None:
    from malade_export.bench.report import format_ratios, goal_ratios

    def row(kind: str, backend: str, passes: list[float], **keys: object) -> dict[str, object]:
        return {"kind": kind, "backend": backend, "batch": 1, "median_ms": sorted(passes)[1],
                "pass_medians_ms": passes, "gflops": 1.0, "gflop_per_sample": 0.7, **keys}

    report = {"config": {"steps": [10], "batches": [1], "dgan_steps": 200}, "matmul_peak": {"gflops": 100.0},
              "rows": [row("malade", "ort-cpu", [2.0, 2.0, 4.0], steps=10),
                       row("defensegan", "pytorch-eager+autograd", [1000.0, 1500.0, 1000.0], steps=200, restarts=10)]}
    ratios = goal_ratios(report)
    assert ratios["defensegan_over_malade_batch1_per_pass"]["ort-cpu"] == [500.0, 750.0, 250.0]
    report["ratios"] = ratios
    assert "per pass: median 500x, 250x to 750x over 3 passes" in format_ratios(report)
