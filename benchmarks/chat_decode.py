"""Chat decode benchmark: Genloom's ONNX decoder vs peers on the same GGUF, printed as JSON.

    python benchmarks/chat_decode.py --gguf SmolLM2-135M-Instruct.Q4_1.gguf [--model DIR] [--peer-python PY]

Every engine runs in its own subprocess (so peak RSS is its own) with 2 threads: a ~25-token chat
prompt, 128 greedy tokens (no stop token), median of 3 runs. Measured: decode tok/s, time to first
token cold (fresh cache) and on a follow-up turn (cache reused, only the new tokens run), peak RSS.
Peers: llama-cpp-python on the same GGUF when importable by --peer-python, and onnxruntime-genai on
an int4 folder from its own builder when --genai is given.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SYSTEM = "You are a helpful assistant."
QUESTION = "Tell me a short story about a robot who paints."
FOLLOW_UP = "Now give the robot a name and describe its favourite colour."


def prompt_ids(folder: Path, answer: list[int] | None = None) -> list[int]:
    """Chat-template token ids for turn 1, or turn 2 after `answer`."""
    from models.llm.chat_template import render_chat
    from models.llm.tokenizer import load_tokenizer

    tok = load_tokenizer(folder)
    messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": QUESTION}]
    first = tok.encode(render_chat(messages, tok.chat_template))
    if answer is None:
        return first
    messages += [{"role": "assistant", "content": tok.decode(answer, skip_special=True)},
                 {"role": "user", "content": FOLLOW_UP}]
    return tok.encode(render_chat(messages, tok.chat_template))


def peak_rss_mb() -> float:
    """This process's peak RSS (VmHWM; ru_maxrss would include the parent's peak from before exec)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def bench_genloom(folder: Path, threads: int, tokens: int, runs: int, graph: Path | None = None) -> dict:
    """Genloom's decoder on its own build, or (graph=genai folder) the plain-loop peer on genai's graph."""
    import onnxruntime as ort

    sys.path.insert(0, str(ROOT))
    from models.llm.decoder import Decoder, session_options
    from models.llm.layouts import find_decoder
    from models.runtime.registry import read_manifest

    if graph is None:
        manifest = read_manifest(folder)
        model_file, p, source = folder / manifest.files["model"], manifest.params, manifest.source
    else:
        found = find_decoder(graph)
        model_file, p, source = found.model, found.params, f"{found.layout} graph in {graph}"
    options = session_options(threads, spin=os.environ.get("GENLOOM_BENCH_SPIN") == "1")
    start = time.perf_counter()
    session = ort.InferenceSession(str(model_file), options, providers=["CPUExecutionProvider"])
    load = time.perf_counter() - start
    dec = Decoder(session, p["n_kv_heads"], p["head_dim"], p["context"])
    ids = prompt_ids(folder)
    rates, cold, follow = [], [], []
    for _ in range(runs):
        conv = dec.conversation()
        t0 = time.perf_counter()
        out, first = [], None
        for token in dec.generate(conv, ids, max_new_tokens=tokens):
            if first is None:
                first = time.perf_counter()
            out.append(token)
        end = time.perf_counter()
        cold.append(first - t0)
        rates.append((len(out) - 1) / (end - first))
        turn2 = prompt_ids(folder, out)
        cached = next((i for i, (a, b) in enumerate(zip(conv.tokens, turn2)) if a != b), len(conv.tokens))
        t1 = time.perf_counter()
        next(iter(dec.generate(conv, turn2, max_new_tokens=1)))
        follow.append(time.perf_counter() - t1)
    engine = "genloom-onnx" if graph is None else "plain python loop on genai's int4 graph"
    return {"engine": engine, "model": source, "model_bytes": weight_bytes(model_file), "prompt_tokens": len(ids),
            "follow_up_tokens_run": len(turn2) - cached,
            "decode_tok_s": statistics.median(rates), "ttft_cold_ms": 1e3 * statistics.median(cold),
            "ttft_follow_up_ms": 1e3 * statistics.median(follow), "load_s": load, "peak_rss_mb": peak_rss_mb(),
            "runs": {"decode_tok_s": rates, "ttft_cold_ms": [1e3 * c for c in cold]}}


def weight_bytes(model_file: Path) -> int:
    """Bytes of the graph plus its external data: what one decode step reads at most."""
    return sum(p.stat().st_size for p in model_file.parent.iterdir()
               if p.is_file() and p.name.endswith((".onnx", ".onnx.data", ".onnx_data", ".data")))


def memory_bandwidth_gbs(threads: int) -> float:
    """Streaming read bandwidth measured now with numpy (sum over a 512 MB array), in GB/s."""
    import numpy as np

    data = np.ones(64 * 1024 * 1024, dtype=np.float64)  # 512 MB
    data.sum()
    best = 0.0
    for _ in range(5):
        start = time.perf_counter()
        data.sum()
        best = max(best, data.nbytes / (time.perf_counter() - start) / 1e9)
    return best


def bench_llama_cpp(gguf: Path, folder: Path, threads: int, tokens: int, runs: int) -> dict:
    from llama_cpp import Llama

    start = time.perf_counter()
    llm = Llama(model_path=str(gguf), n_threads=threads, n_threads_batch=threads, n_ctx=1024, verbose=False)
    load = time.perf_counter() - start
    ids = prompt_ids(folder)
    rates, cold, follow = [], [], []
    for _ in range(runs):
        llm.reset()
        if llm._ctx is not None:  # drop the prefix cache so "cold" really is cold
            llm._ctx.kv_cache_clear() if hasattr(llm._ctx, "kv_cache_clear") else None
        llm.n_tokens = 0
        t0 = time.perf_counter()
        out, first = [], None
        for token in llm.generate(ids, top_k=1, top_p=1.0, temp=0.0, repeat_penalty=1.0, reset=True):
            if first is None:
                first = time.perf_counter()
            out.append(token)
            if len(out) == tokens:
                break
        end = time.perf_counter()
        cold.append(first - t0)
        rates.append((len(out) - 1) / (end - first))
        turn2 = prompt_ids(folder, out)
        t1 = time.perf_counter()
        next(iter(llm.generate(turn2, top_k=1, temp=0.0, repeat_penalty=1.0, reset=True)))
        follow.append(time.perf_counter() - t1)
    return {"engine": "llama.cpp (llama-cpp-python)", "prompt_tokens": len(ids),
            "decode_tok_s": statistics.median(rates), "ttft_cold_ms": 1e3 * statistics.median(cold),
            "ttft_follow_up_ms": 1e3 * statistics.median(follow), "load_s": load, "peak_rss_mb": peak_rss_mb(),
            "runs": {"decode_tok_s": rates, "ttft_cold_ms": [1e3 * c for c in cold]}}


def bench_genai(genai_dir: Path, folder: Path, threads: int, tokens: int, runs: int) -> dict:
    """onnxruntime-genai on a folder made by its own model builder (int4)."""
    import onnxruntime_genai as og

    start = time.perf_counter()
    config = og.Config(str(genai_dir))
    config.clear_providers()
    model = og.Model(config)
    load = time.perf_counter() - start
    ids = prompt_ids(folder)
    rates, cold, follow = [], [], []
    for _ in range(runs):
        params = og.GeneratorParams(model)
        params.set_search_options(max_length=1024, do_sample=False)
        gen = og.Generator(model, params)
        t0 = time.perf_counter()
        gen.append_tokens(ids)
        out, first = [], None
        while len(out) < tokens:
            gen.generate_next_token()
            out.append(int(gen.get_next_tokens()[0]))
            if first is None:
                first = time.perf_counter()
        end = time.perf_counter()
        cold.append(first - t0)
        rates.append((len(out) - 1) / (end - first))
        turn2 = prompt_ids(folder, out)
        seen = list(gen.get_sequence(0))
        common = next((i for i, (a, b) in enumerate(zip(seen, turn2)) if a != b), min(len(seen), len(turn2)))
        t1 = time.perf_counter()
        if common < len(seen):
            gen.rewind_to(common)
        gen.append_tokens(turn2[common:])
        gen.generate_next_token()
        follow.append(time.perf_counter() - t1)
    return {"engine": "onnxruntime-genai (builder int4)", "prompt_tokens": len(ids),
            "decode_tok_s": statistics.median(rates), "ttft_cold_ms": 1e3 * statistics.median(cold),
            "ttft_follow_up_ms": 1e3 * statistics.median(follow), "load_s": load, "peak_rss_mb": peak_rss_mb(),
            "runs": {"decode_tok_s": rates, "ttft_cold_ms": [1e3 * c for c in cold]}}


def run_child(python: str, engine: str, args) -> dict:
    cmd = [python, __file__, "--child", engine, "--gguf", str(args.gguf), "--model", str(args.model),
           "--genai", str(args.genai),
           "--threads", str(args.threads), "--tokens", str(args.tokens), "--runs", str(args.runs)]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": str(args.threads)}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1800)
    if proc.returncode != 0:
        return {"engine": engine, "error": (proc.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gguf", type=Path, required=True)
    parser.add_argument("--model", type=Path, help="converted Genloom folder (made from --gguf when missing)")
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--peer-python", default=sys.executable, help="interpreter that has llama_cpp")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--genai", type=Path, default=Path(""), help="onnxruntime-genai builder folder (optional)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.model = args.model or Path("/tmp") / f"genloom-bench-{args.gguf.stem}-{args.precision}"
    if args.child == "genloom":
        print(json.dumps(bench_genloom(args.model, args.threads, args.tokens, args.runs)))
        return
    if args.child == "plain-loop":
        print(json.dumps(bench_genloom(args.model, args.threads, args.tokens, args.runs, graph=args.genai)))
        return
    if args.child == "llama.cpp":
        print(json.dumps(bench_llama_cpp(args.gguf, args.model, args.threads, args.tokens, args.runs)))
        return
    if args.child == "genai":
        print(json.dumps(bench_genai(args.genai, args.model, args.threads, args.tokens, args.runs)))
        return
    sys.path.insert(0, str(ROOT))
    if not (args.model / "genloom.json").is_file():
        from models.llm.gguf_import import convert_gguf

        convert_gguf(args.gguf, args.model, precision=args.precision)
    results = [run_child(sys.executable, "genloom", args), run_child(args.peer_python, "llama.cpp", args)]
    if (args.genai / "genai_config.json").is_file():
        results.append(run_child(args.peer_python, "genai", args))
        results.append(run_child(sys.executable, "plain-loop", args))
    ours = results[0]
    bandwidth = memory_bandwidth_gbs(args.threads)
    if "decode_tok_s" in ours:
        read_gb_s = ours["model_bytes"] * ours["decode_tok_s"] / 1e9
        ours["bandwidth"] = {"measured_read_gb_s": round(bandwidth, 1), "model_bytes": ours["model_bytes"],
                             "ceiling_tok_s": round(bandwidth * 1e9 / ours["model_bytes"], 1),
                             "share_of_ceiling": round(read_gb_s / bandwidth, 3)}
    ratios = {}
    for peer in results[1:]:
        if "decode_tok_s" in peer and "decode_tok_s" in ours:
            ratios[peer["engine"]] = {"decode_speedup": ours["decode_tok_s"] / peer["decode_tok_s"],
                                      "ttft_cold_ratio": ours["ttft_cold_ms"] / peer["ttft_cold_ms"],
                                      "ttft_follow_up_ratio": ours["ttft_follow_up_ms"] / peer["ttft_follow_up_ms"]}
    print(json.dumps({"threads": args.threads, "new_tokens": args.tokens, "runs": args.runs,
                      "spinning": os.environ.get("GENLOOM_BENCH_SPIN") == "1",
                      "load_average": os.getloadavg()[0], "results": results, "ratios": ratios}, indent=2))


if __name__ == "__main__":
    main()
