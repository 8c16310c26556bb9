"""rasa_plugins.lock_store.FileLockStore, run by Rasa's own interpreter (.venv-rasa), in real processes.

The lock must exclude coroutines of one process and other processes alike, serve one process's
waiters in arrival order, give up with Rasa's LockError after the lifetime, and never outlive a
process that died holding it.
"""

from __future__ import annotations

import json
import re
import subprocess
import textwrap

from tests.support import ROOT

RASA_PYTHON = ROOT / ".venv-rasa" / "bin" / "python"

WORKER = textwrap.dedent("""
    import asyncio, json, sys
    from pathlib import Path
    from rasa_plugins.lock_store import FileLockStore

    lock_dir, counter, tasks, rounds = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    store = FileLockStore(lock_dir=lock_dir)
    order = []

    async def bump(n):
        for _ in range(rounds):
            async with store.lock("conversation-1"):
                value = int(counter.read_text())   # read, yield, write: loses updates unless locked
                await asyncio.sleep(0.001)
                counter.write_text(str(value + 1))
                order.append(n)

    async def main():
        await asyncio.gather(*[bump(n) for n in range(tasks)])
    asyncio.run(main())
    print(json.dumps({"entries": len(order), "conversations_left": len(store._local)}))
""")


def run_rasa(code: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(RASA_PYTHON), "-c", code, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    return proc


def test_two_processes_never_interleave_one_conversation(tmp_path):
    counter = tmp_path / "counter"
    counter.write_text("0")
    args = [str(tmp_path / "locks"), str(counter), "4", "25"]  # 2 processes x 4 coroutines x 25 rounds
    procs = [subprocess.Popen([str(RASA_PYTHON), "-c", WORKER, *args], cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err[-3000:] for _, err in outs]
    assert int(counter.read_text()) == 200  # every read-modify-write saw the one before it
    for out, _ in outs:
        assert json.loads(out.splitlines()[-1]) == {"entries": 100, "conversations_left": 0}


def test_waiters_are_served_in_order_and_other_conversations_do_not_wait(tmp_path):
    # event-based: m0 holds conversation-1 until the other conversation has taken and released its own
    # lock, so "other did not wait" is proven by completion (a wait would time out), not by a timing window
    code = textwrap.dedent("""
        import asyncio, json, sys
        from rasa_plugins.lock_store import FileLockStore

        store = FileLockStore(lock_dir=sys.argv[1])
        order = []

        async def main():
            m0_holds, other_done = asyncio.Event(), asyncio.Event()

            async def hold(name, delay):
                await asyncio.sleep(delay)  # arrival order: timers of one loop fire in deadline order
                async with store.lock("conversation-1"):
                    order.append(name)
                    if name == "m0":
                        m0_holds.set()
                        await asyncio.wait_for(other_done.wait(), 60)

            async def other():
                await m0_holds.wait()
                async with store.lock("conversation-2"):
                    order.append("other")
                other_done.set()

            await asyncio.gather(other(), *[hold(f"m{i}", 0.001 * i) for i in range(5)])

        assert store.path_for("conversation-1") != store.path_for("conversation-2")  # different buckets
        asyncio.run(main())
        print(json.dumps({"order": order}))
    """)
    result = json.loads(run_rasa(code, str(tmp_path)).stdout.splitlines()[-1])
    assert result["order"] == ["m0", "other", "m1", "m2", "m3", "m4"]  # other took its lock while m0 held


def test_a_held_lock_times_out_with_rasas_lock_error_and_dies_with_its_process(tmp_path):
    holder = subprocess.Popen([str(RASA_PYTHON), "-c", textwrap.dedent("""
        import asyncio, sys
        from rasa_plugins.lock_store import FileLockStore

        async def main():
            async with FileLockStore(lock_dir=sys.argv[1]).lock("conversation-1"):
                print("held", flush=True)
                await asyncio.sleep(600)
        asyncio.run(main())
    """), str(tmp_path)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        code = textwrap.dedent("""
            import asyncio, sys, time
            from rasa.core.lock_store import LockError
            from rasa_plugins.lock_store import FileLockStore

            store = FileLockStore(lock_dir=sys.argv[1])

            async def main():
                t0 = time.monotonic()
                try:
                    async with store.lock("conversation-1", lock_lifetime=0.3):
                        print("acquired while held")
                except LockError as exc:
                    print("LockError after", round(time.monotonic() - t0, 1), "s:", exc)
            asyncio.run(main())
        """)
        out = run_rasa(code, str(tmp_path)).stdout
        assert "another Rasa process" in out, out
        waited = float(re.search(r"LockError after ([0-9.]+) s", out).group(1))
        assert 0.3 <= waited < 10, out  # gave up after the lifetime; generous above for a loaded machine
    finally:
        holder.kill()
        holder.wait()
    code = textwrap.dedent("""
        import asyncio, sys
        from rasa_plugins.lock_store import FileLockStore

        async def main():
            async with FileLockStore(lock_dir=sys.argv[1]).lock("conversation-1", lock_lifetime=2):
                print("acquired")
        asyncio.run(main())
    """)
    assert run_rasa(code, str(tmp_path)).stdout.strip() == "acquired"  # the killed holder left nothing behind
