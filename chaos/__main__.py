"""`python -m chaos [--cluster] [--short] [--keep]`: run the fault suite, print a line per
fault and the final table; exit 1 unless every check passed. Logs and data stay in the
printed folder when the run fails (or with --keep)."""

import argparse
import asyncio
import shutil
import sys
import tempfile
from pathlib import Path

from chaos.report import render
from chaos.run import Plan, run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chaos", description=__doc__)
    parser.add_argument("--short", action="store_true", help="each fault once (the CI form)")
    parser.add_argument("--keep", action="store_true", help="keep the data and logs folder")
    parser.add_argument(
        "--cluster",
        action="store_true",
        help="three Kafka brokers, two replicas of each service, broker and scaling faults",
    )
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="kpi-chaos-"))
    plan = Plan.short(cluster=args.cluster) if args.short else Plan.full(cluster=args.cluster)
    ok = False
    try:
        report = asyncio.run(run(plan, workdir, say=lambda line: print(line, flush=True)))
        print("\n" + render(report))
        ok = report.ok
    finally:
        if ok and not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"data and logs kept in {workdir}", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
