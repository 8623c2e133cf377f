"""Payslip benchmark: 100 companies × 100 employees rendered and bundled by real workers.

Prints wall time, payslips/s, the peak RSS of a process merging 1,000 payslips into one file,
and the ratio against a plain reportlab loop rendering the same payslips in this same run, and
the CPU seconds of both (which, unlike wall time, other load on the machine hardly changes).
Needs PostgreSQL and Redis on 127.0.0.1 (PAPELEO_TEST_POSTGRES_URL / PAPELEO_TEST_REDIS_URL).
Usage: .venv/bin/python -m bench.payslips [--companies 100] [--employees 100] [--workers 2]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
import redis
from sqlalchemy import select
from sqlalchemy.engine import make_url

from ingest.accounts import ensure_account
from pipeline.payslip_pdf import render_payslip
from storage.migrate import upgrade
from storage.models import Company, Role
from storage.payroll import Employee, MonthEndRun, MonthEndStatus, Payslip
from tests.conftest import POSTGRES_URL
from tests.e2e.conftest import ROOT, base_env
from tests.payroll_data import payroll_json
from workers.app import app as celery_app
from workers.app import celery_config
from workers.payslips import (
    create_month_end,
    parse_payroll,
    payslip_figures,
    payslip_header,
    store_payroll_import,
)
from workers.runtime import get_runtime, reset_runtime
from workers.settings import Settings, install_settings

REDIS_DB = "redis://127.0.0.1:6379/13"


def merge_rss(folder: Path, count: int) -> tuple[float, float]:
    """Merge ``count`` rendered payslips in a fresh process: (seconds, peak RSS in MB).

    The peak is the child's VmHWM. Not ru_maxrss: Linux carries the peak of the process
    image that exec replaced into it, so a child of this (large) bench reported our RSS.
    """
    code = (
        "import re,sys,time;from pathlib import Path;"
        "from pipeline.payslip_merge import merge_payslips;"
        f"files=sorted(Path({str(folder)!r}).glob('*.pdf'))[:{count}];"
        "t=time.perf_counter();merge_payslips([(p.stem,p) for p in files],"
        f"Path({str(folder)!r})/'merged.out');"
        "hwm=re.search(r'VmHWM:\\s+(\\d+) kB',Path('/proc/self/status').read_text());"
        "print(time.perf_counter()-t, int(hwm[1])/1024)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    return float(out[0]), float(out[1])


def tree_cpu(pid: int) -> float:
    """CPU seconds of a process, of its live children and of the children it has reaped."""
    tick = os.sysconf("SC_CLK_TCK")

    def times(process: int | str) -> list[int]:
        # Fields after the command name: utime, stime, cutime, cstime are 14-17 of stat(5).
        try:
            fields = Path(f"/proc/{process}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:  # a pool process recycled just now
            return [0, 0, 0, 0]
        return [int(value) for value in fields[11:15]]

    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    total = sum(times(pid)) + sum(sum(times(child)[:2]) for child in children)
    return total / tick


def wait_for_worker(timeout: float = 120) -> None:
    """Until the worker answers a ping: its start-up is not part of the timed run."""
    deadline = time.monotonic() + timeout
    while not celery_app.control.ping(timeout=0.5):
        if time.monotonic() > deadline:
            raise SystemExit("the payslip worker did not start")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--companies", type=int, default=100)
    parser.add_argument("--employees", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    name = f"papeleo_bench_{uuid.uuid4().hex[:8]}"
    admin = make_url(POSTGRES_URL).set(drivername="postgresql").render_as_string(False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    database = make_url(POSTGRES_URL).set(database=name).render_as_string(False)
    tmp = Path(tempfile.mkdtemp(prefix="papeleo-bench-"))
    settings = Settings(
        data_dir=tmp / "data",
        database_url=database,
        broker_url=REDIS_DB,
        storage="filesystem",
        payslip_chunk_size=50,
    )
    install_settings(settings)
    reset_runtime()
    celery_app.conf.update(celery_config(settings))  # publish to the bench's broker
    worker = None
    try:
        upgrade(database)
        get_runtime().store.ensure_ready()
        redis.Redis.from_url(REDIS_DB).flushdb()
        started = time.perf_counter()
        for c in range(args.companies):
            with get_runtime().sessions.begin() as session:
                ensure_account(
                    session,
                    advisory_code="6",
                    username=f"c{c}",
                    password="pw-bench-1",
                    role=Role.CLIENT,
                    company_nifs=[f"B{c:07d}0"],
                    company_name=f"Empresa {c:03d} SL",
                )
                company = session.scalar(select(Company).where(Company.nif == f"B{c:07d}0"))
                seeds = range(c * 1000 + 1, c * 1000 + 1 + args.employees)
                parsed = parse_payroll(payroll_json(seeds, company_seed=c + 1), "json")
                assert parsed.ok, parsed.problems[:3]
                store_payroll_import(session, company, parsed)
        total = args.companies * args.employees
        print(f"imported {total} payslips in {time.perf_counter() - started:.1f} s (setup)")

        # Baseline: a plain reportlab loop over the same payslips, in one process.
        with get_runtime().sessions() as session:
            rows = session.execute(
                select(Payslip, Employee, Company)
                .join(Employee, Employee.id == Payslip.employee_id)
                .join(Company, Company.id == Payslip.company_id)
            ).all()
            jobs = [(payslip_header(co, None, e), payslip_figures(p)) for p, e, co in rows]
        pages = tmp / "pages"
        pages.mkdir()
        t, cpu = time.perf_counter(), time.process_time()
        for i, (header, figures) in enumerate(jobs):
            data = render_payslip(header, figures)
            if i < 1000:
                (pages / f"{i:05d}.pdf").write_bytes(data)
        baseline = time.perf_counter() - t
        baseline_cpu = time.process_time() - cpu
        print(
            f"plain reportlab loop: {total} payslips in {baseline:.1f} s "
            f"({total / baseline:.0f}/s, one process)"
        )

        env = base_env(
            database_url=database,
            broker_url=REDIS_DB,
            storage="filesystem",
            data_dir=str(tmp / "data"),
            payslip_chunk_size="50",
        )
        log = (tmp / "worker.log").open("wb")
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "ingest.cli",
                "worker",
                "--queues",
                "payslips,notify",
                "--concurrency",
                str(args.workers),
                "--loglevel",
                "WARNING",
            ],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        wait_for_worker()
        from workers.payslips import start_month_end

        with get_runtime().sessions.begin() as session:
            run_id = create_month_end(
                session, session.scalar(select(Company.advisory_id)), "2026-11", None
            ).id
        t, cpu = time.perf_counter(), tree_cpu(worker.pid)
        start_month_end(run_id)
        while True:
            with get_runtime().sessions() as session:
                if session.get_one(MonthEndRun, run_id).status == MonthEndStatus.DONE:
                    break
            time.sleep(0.2)
        wall = time.perf_counter() - t
        workers_cpu = tree_cpu(worker.pid) - cpu
        print(
            f"workers ({args.workers} processes): {total} payslips rendered and merged into "
            f"{args.companies} files in {wall:.1f} s ({total / wall:.0f} payslips/s)"
        )
        print(f"ratio workers / plain loop: {wall / baseline:.2f}")
        # CPU time does not depend on what else runs on the machine; wall time does.
        print(
            f"CPU: workers {workers_cpu:.1f} s, plain loop {baseline_cpu:.1f} s "
            f"({workers_cpu / baseline_cpu:.2f}x; PostgreSQL and Redis not counted)"
        )
        seconds, rss = merge_rss(pages, 1000)
        print(f"merge 1,000 payslips into one file: {seconds:.1f} s, peak RSS {rss:.0f} MB")
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=30)
        install_settings(None)
        reset_runtime()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
