"""What approving a correction costs: the modules it runs through and the queries it sends.

Builds a demo catalogue in a temporary SQLite file (with the ``observatory`` command), sends a
correction of one process through the public form, logs an editor in and approves the correction
through the real app, while recording every Python call made in ``observatory`` modules and every
query the database engine runs. Prints the modules in the order they are first entered, the
packages in the order control moves between them, and the SELECT count (with those that read the
``process`` table itself).

    .venv/bin/python bench/approval.py [--slug opencoesione]
"""

from __future__ import annotations

import argparse
import asyncio
import dis
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from bs4 import BeautifulSoup
from litestar.testing import AsyncTestClient

PASSWORD = "una password abbastanza lunga"
#: A frame at this instruction with argument 0 has just been called (not resumed after an await).
RESUME = dis.opmap["RESUME"]
OBSERVATORY = str(Path(sys.executable).with_name("observatory"))


def _observatory(env: dict[str, str], *args: str) -> None:
    subprocess.run([OBSERVATORY, *args], env=env, check=True, capture_output=True)


def _token(response) -> str:
    return BeautifulSoup(response.text, "html.parser").select_one("input[name=_csrf_token]")["value"]


def _form_values(page: BeautifulSoup) -> dict[str, str | list[str]]:
    """What a browser posts for the correction form as shown (buttons left out)."""
    values: dict[str, str | list[str]] = {}
    for control in page.select("form#modulo-segnalazione [name]"):
        name, kind = control["name"], control.get("type", "text")
        if kind in ("checkbox", "radio"):
            if control.has_attr("checked"):
                values.setdefault(name, []).append(control.get("value", "on"))
        elif control.name == "textarea":
            values[name] = control.get_text().removeprefix("\n")
        elif control.name == "select":
            chosen = control.find("option", selected=True)
            values[name] = chosen["value"] if chosen else ""
        elif control.name == "input" and kind not in ("submit", "button"):
            values[name] = control.get("value", "")
    return values


class Recorder:
    """Calls into observatory modules and the queries run, while ``on``."""

    def __init__(self):
        self.on = False
        self.modules: list[str] = []
        self.calls: set[tuple[str, str]] = set()  # (calling module, called module)
        self.queries: list[str] = []

    def profile(self, frame, event, arg):
        if self.on and event == "call" and self._fresh(frame):
            name = frame.f_globals.get("__name__", "")
            if name.startswith("observatory"):
                self.modules.append(name)
                caller = frame.f_back.f_globals.get("__name__", "") if frame.f_back else ""
                if caller.startswith("observatory") and caller != name:
                    self.calls.add((caller, name))

    @staticmethod
    def _fresh(frame) -> bool:
        code, at = frame.f_code.co_code, frame.f_lasti
        return 0 <= at < len(code) - 1 and code[at] == RESUME and code[at + 1] == 0

    def query(self, query_id: int, query: str) -> None:
        if self.on:
            self.queries.append(query)


async def measure(slug: str, workdir: Path) -> Recorder:
    from observatory import piccolo_conf
    from observatory.app import create_app
    from observatory.settings import Settings

    database_url = f"sqlite:///{workdir / 'bench.db'}"
    env = {
        **os.environ,
        "OBSERVATORY_DATABASE_URL": database_url,
        "OBSERVATORY_INDEX_DIR": str(workdir / "index"),
        "OBSERVATORY_STAFF_PASSWORD": PASSWORD,
    }
    _observatory(env, "demo")
    _observatory(env, "create-staff", "misura", "--name", "Misura Approvazione", "--role", "redattore")
    settings = Settings(database_url=database_url, index_dir=workdir / "index", secret_key="bench")
    recorder = Recorder()
    async with AsyncTestClient(app=create_app(settings)) as client:
        path = f"/processi/{slug}/correzione"
        form = await client.get(path)
        fields = {
            "_csrf_token": _token(form),
            "nome": "Maria Rossi",
            "ente": "Comune di Chieri",
            "email": "maria.rossi@example.org",
            "privacy": "1",
            "nota": "Sintesi aggiornata.",
            "azione": "invia",
        }
        fields = {**_form_values(BeautifulSoup(form.text, "html.parser")), **fields}
        fields["summary"] = "Una sintesi corretta dalla segnalazione di prova."
        sent = await client.post(path, data=fields, follow_redirects=False)
        assert sent.status_code == 303, sent.text[:500]
        login = await client.get("/redazione/accesso")
        logged = await client.post(
            "/redazione/accesso",
            data={"_csrf_token": _token(login), "username": "misura", "password": PASSWORD},
            follow_redirects=False,
        )
        assert logged.status_code == 303, logged.text[:500]
        queue = await client.get("/redazione")
        review_path = BeautifulSoup(queue.text, "html.parser").select_one(
            "a[href^='/redazione/segnalazioni/']"
        )
        review = await client.get(review_path["href"])
        data = {"_csrf_token": _token(review), "correzione": "1", "campi": "summary"}
        engine = piccolo_conf.DB
        engine.log_queries = True
        type(engine).print_query = lambda _engine, query_id, query: recorder.query(query_id, query)
        client.blocking_portal.call(sys.setprofile, recorder.profile)
        recorder.on = True
        approved = await client.post(review_path["href"] + "/approva", data=data, follow_redirects=False)
        recorder.on = False
        client.blocking_portal.call(sys.setprofile, None)
        assert approved.status_code == 303, approved.text[:500]
    return recorder


#: Modules every domain may use: left out of the moves between domains.
SHARED = {"web", "database", "text", "digests", "settings"}


def _domain(module: str) -> str:
    return module.split(".")[1]


def report(recorder: Recorder) -> None:
    modules = list(dict.fromkeys(recorder.modules))
    moves: list[str] = []
    for module in recorder.modules:
        domain = module.split(".")[1]
        if domain not in SHARED and (not moves or moves[-1] != domain):
            moves.append(domain)
    selects = [q for q in recorder.queries if q.lstrip().upper().startswith("SELECT")]
    process_reads = [q for q in selects if re.search(r'\bFROM "process"(\s|$)', q)]
    domains = sorted(set(moves))
    print(f"modules entered: {len(modules)}")
    for module in modules:
        print(f"  {module}")
    print(f"domain packages: {len(domains)} ({', '.join(domains)}); moves between them: {len(moves) - 1}")
    print(f"  {' -> '.join(moves)}")
    edges = sorted({(_domain(a), _domain(b)) for a, b in recorder.calls} - {(d, d) for d in domains})
    edges = [(a, b) for a, b in edges if a not in SHARED and b not in SHARED]
    both_ways = sorted({tuple(sorted(edge)) for edge in edges if edge[::-1] in edges})
    print(f"calls between domain packages: {', '.join(f'{a} -> {b}' for a, b in edges)}")
    print(f"pairs of packages calling each other: {len(both_ways)} {both_ways or ''}")
    print(f"queries: {len(recorder.queries)}, of them SELECT: {len(selects)}")
    whole = [q for q in process_reads if q.startswith("SELECT ALL") and '"process"."title_key"' in q]
    print(f"SELECTs from the process table: {len(process_reads)}, of them reading every column: {len(whole)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slug", default="opencoesione", help="the process to correct")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        report(asyncio.run(measure(args.slug, Path(folder))))


if __name__ == "__main__":
    main()
