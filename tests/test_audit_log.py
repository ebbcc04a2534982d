"""The audit log as people read it, through the real app on both databases: Italian names of the
actions, field labels, Italian time, objects by title with links, the filters (dates, person,
action, process) alone and together, refused filters, the CSV export; and a check over the source
that every action the code records has an Italian name."""

from __future__ import annotations

import ast
import csv
import datetime
import io
import itertools
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from helpers import (
    PATTI,
    STAFF_PASSWORD,
    csrf_token,
    form_values,
    login_as,
    process_row,
    run_in_app,
    soup,
    stored_submissions,
    submission_form,
)

import observatory
from observatory.accounts import services as accounts
from observatory.accounts.tables import AuditEntry
from observatory.audit.entries import CSV_COLUMNS
from observatory.audit.names import ACTION_GROUPS, ACTIONS
from observatory.catalogue.tables import Process
from observatory.curation import synonyms, vocabularies
from observatory.curation.organisations import merge_organisations
from observatory.submissions import digest, moderation

pytestmark = pytest.mark.anyio
AUDIT = "/redazione/registro"
CSV_PATH = "/redazione/registro.csv"
XSS = '<script>alert("x")</script>'
#: 13:05 UTC on a December day is 14:05 in Italy (CET); 10:00 UTC on a July day is 12:00 (CEST).
WINTER = datetime.datetime(2026, 12, 7, 13, 5, tzinfo=datetime.UTC)
SUMMER = datetime.datetime(2026, 7, 1, 10, 0, tzinfo=datetime.UTC)


# --- every action has a name ------------------------------------------------------------------------


class _Source:
    """The package's functions and calls, read with ``ast``, to tell which action codes reach
    ``record_audit``: a literal, an f-string of literals and parameters, or a parameter whose
    callers pass those (followed through every call of the function, as far as it takes)."""

    def __init__(self, package: Path):
        self.functions: list[tuple[Path, ast.AST]] = []
        for path in sorted(package.rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            self.functions += [
                (path, node)
                for node in ast.walk(tree)
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            ]
        self.unresolved: list[str] = []

    @staticmethod
    def _name(call: ast.Call) -> str | None:
        func = call.func
        return (
            func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
        )

    def calls(self, name: str) -> list[tuple[Path, ast.AST, ast.Call]]:
        """Every call of a function called ``name``, with the function it is made in."""
        return [
            (path, function, node)
            for path, function in self.functions
            for node in ast.walk(function)
            if isinstance(node, ast.Call) and self._name(node) == name
        ]

    @staticmethod
    def _argument(function: ast.AST, parameter: str, call: ast.Call) -> ast.AST | None:
        for keyword in call.keywords:
            if keyword.arg == parameter:
                return keyword.value
        names = [a.arg for a in function.args.posonlyargs + function.args.args]
        if names and names[0] in ("self", "cls"):
            names = names[1:]
        position = names.index(parameter)
        if position < len(call.args):
            return call.args[position]
        defaults = function.args.defaults
        offset = position - (len(names) - len(defaults))
        return defaults[offset] if offset >= 0 else None

    def values(self, expr: ast.AST | None, function: ast.AST, where: str, depth: int = 0) -> set[str]:
        """The strings ``expr`` can be inside ``function``; what cannot be told goes to ``unresolved``."""
        if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
            return {expr.value}
        if isinstance(expr, ast.JoinedStr):
            parts = [
                {str(part.value)}
                if isinstance(part, ast.Constant)
                else self.values(part.value, function, where, depth)
                for part in expr.values
            ]
            return {"".join(combination) for combination in itertools.product(*parts)}
        if isinstance(expr, ast.IfExp):
            return self.values(expr.body, function, where, depth) | self.values(
                expr.orelse, function, where, depth
            )
        if isinstance(expr, ast.Name) and depth < 6:
            parameters = [
                a.arg for a in function.args.posonlyargs + function.args.args + function.args.kwonlyargs
            ]
            if expr.id in parameters:
                found: set[str] = set()
                for path, caller, call in self.calls(function.name):
                    argument = self._argument(function, expr.id, call)
                    found |= self.values(argument, caller, f"{path.name}:{call.lineno}", depth + 1)
                if found:
                    return found
            assigned = [
                node.value
                for node in ast.walk(function)
                if isinstance(node, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == expr.id for t in node.targets)
            ]
            if assigned:
                return set().union(*(self.values(value, function, where, depth + 1) for value in assigned))
        self.unresolved.append(f"{where}: {ast.unparse(expr) if expr else 'nothing'}")
        return set()

    def audited_actions(self) -> dict[str, str]:
        """Every action code passed to record_audit, with where the call is."""
        found = {}
        for path, function, call in self.calls("record_audit"):
            if function.name == "record_audit":
                continue
            where = f"{path.relative_to(path.parents[1])}:{call.lineno}"
            argument = self._argument_of_record_audit(call)
            for code in self.values(argument, function, where):
                found.setdefault(code, where)
        return found

    @staticmethod
    def _argument_of_record_audit(call: ast.Call) -> ast.AST | None:
        for keyword in call.keywords:
            if keyword.arg == "action":
                return keyword.value
        return call.args[1] if len(call.args) > 1 else None


def test_every_action_the_code_records_has_an_italian_name():
    source = _Source(Path(observatory.__file__).parent)
    recorded = source.audited_actions()
    assert source.unresolved == [], (
        "record_audit is called with an action these tests cannot read: pass a literal code "
        "(or a parameter whose callers pass literals)"
    )
    # the reading reaches literals, f-strings of parameters and parameters passed on
    assert {"utente.crea", "segnalazione.richiedi_modifiche", "processo.correggi", "sinonimi.elimina"} <= set(
        recorded
    )
    nameless = {code: where for code, where in recorded.items() if code not in ACTIONS}
    assert nameless == {}, "give these actions an Italian name in observatory/audit/names.py ACTIONS"
    assert all(code.partition(".")[0] in ACTION_GROUPS for code in ACTIONS)
    assert len(set(ACTIONS.values())) == len(ACTIONS)  # no two actions read alike


# --- helpers ----------------------------------------------------------------------------------------


def _entry_ids(client, action: str) -> list[int]:
    return run_in_app(
        client,
        lambda: AuditEntry.select(AuditEntry.id).where(AuditEntry.action == action).output(as_list=True),
    )


def _set_time(client, moment: datetime.datetime, *ids: int) -> None:
    run_in_app(
        client, lambda: AuditEntry.update({AuditEntry.at: moment}).where(AuditEntry.id.is_in(list(ids)))
    )


def _record(client, actor, action, object_type, object_id, summary, moment=None, **data) -> int:
    """One entry written as the code writes them, at ``moment`` when given; its id."""
    run_in_app(client, accounts.record_audit, actor, action, object_type, object_id, summary, **data)
    entry_id = run_in_app(
        client, lambda: AuditEntry.select(AuditEntry.id).order_by(AuditEntry.id, ascending=False).first()
    )["id"]
    if moment is not None:
        _set_time(client, moment, entry_id)
    return entry_id


def _entries(page) -> list[dict]:
    """The entries a page of the log shows: name of the action, the object, when, who, the summary,
    and the changed fields by label."""
    shown = []
    for article in page.select("article.audit-entry"):
        link = article.select_one(".audit-object a")
        shown.append(
            {
                "action": article.select_one("h3").get_text(strip=True),
                "kind": article.select_one(".audit-object .tag").get_text(strip=True),
                "object": article.select_one(".audit-object").get_text(" ", strip=True),
                "link": link["href"] if link else None,
                "link_text": link.get_text(strip=True) if link else None,
                "time": article.select_one("time").get_text(strip=True),
                "datetime": article.select_one("time")["datetime"],
                "actor": article.select(".meta span")[1].get_text(strip=True),
                "summary": (article.select_one(".audit-summary") or article).get_text(strip=True),
                "changes": {
                    tr.th.get_text(strip=True): (
                        tr.select_one(".before").get_text(),
                        tr.select_one(".after").get_text(),
                    )
                    for tr in article.select("tbody tr")
                },
            }
        )
    return shown


async def _log(client, **params) -> list[dict]:
    response = await client.get(AUDIT, params=params)
    assert response.status_code == 200, response.text
    return _entries(soup(response))


# --- reading --------------------------------------------------------------------------------------


async def test_an_edit_reads_with_its_italian_name_labels_italian_time_and_the_title_linked(client):
    process = process_row(client, PATTI)
    admin = await login_as(client, "amministratore")
    path = f"/redazione/processi/{process['id']}/modifica"
    data = form_values(soup(await client.get(path)), "form.process-form")
    data.update(title="Patti rinominati dalla redazione", start_year="2016", azione="salva")
    assert (await client.post(path, data=data, follow_redirects=False)).status_code == 303
    _set_time(client, WINTER, *_entry_ids(client, "processo.modifica"))

    response = await client.get(AUDIT)
    shown = soup(response).select_one("main").get_text(" ")  # codes only as the filter's values
    assert "processo.modifica" not in shown and "start_year" not in shown
    edited = next(e for e in _entries(soup(response)) if e["kind"] == "Processo")
    assert edited["action"] == "Processo modificato"
    assert edited["link"] == f"/redazione/processi/{process['id']}/versioni"
    assert edited["link_text"] == "Patti rinominati dalla redazione"
    assert edited["time"] == "7 dicembre 2026 alle 14:05"
    assert datetime.datetime.fromisoformat(edited["datetime"]) == WINTER
    assert edited["datetime"].endswith("+01:00")
    assert edited["actor"] == admin["display_name"]
    assert edited["changes"] == {
        "Titolo": (process["title"], "Patti rinominati dalla redazione"),
        "Anno di avvio": ("2017", "2016"),
    }

    _set_time(client, SUMMER, *_entry_ids(client, "processo.modifica"))
    summer = next(e for e in await _log(client) if e["kind"] == "Processo")
    assert summer["time"] == "1 luglio 2026 alle 12:00" and summer["datetime"].endswith("+02:00")


async def test_submissions_terms_synonyms_organisations_and_accounts_read_by_name(client):
    admin = await login_as(client, "amministratore")
    visitor_token = await csrf_token(client)
    form = submission_form(visitor_token, title=f"Orti di Borgoquercia {XSS}", conferma="1")
    assert (await client.post("/segnala", data=form, follow_redirects=False)).status_code == 303
    submission = stored_submissions(client)[-1]
    run_in_app(client, moderation.request_changes, submission["id"], admin, "Aggiungete le date delle fasi.")
    term = run_in_app(client, vocabularies.create_term, "tematica", "Orti urbani di prova", "", admin)
    run_in_app(client, vocabularies.delete_term, term["id"], admin)
    group = run_in_app(client, synonyms.create_group, ["orti urbani", "orti condivisi"], "", admin)
    run_in_app(client, merge_organisations, "comune-di-chieri", "comune-di-torino", admin)
    created = run_in_app(
        client, accounts.create_staff, "nuova.redattrice", "Nuova Redattrice", "redattore", STAFF_PASSWORD
    )
    run_in_app(client, digest.set_subscription, admin, True)  # an account named by its number

    response = await client.get(AUDIT)
    assert XSS not in response.text  # the submitted title is escaped
    by_action: dict[str, dict] = {}
    for entry in _entries(soup(response)):
        by_action.setdefault(entry["action"], entry)  # the newest of each

    changes = by_action["Modifiche chieste a chi ha segnalato"]
    assert changes["kind"] == "Segnalazione"
    assert changes["link"] == f"/redazione/segnalazioni/{submission['id']}"
    assert changes["link_text"] == f"Orti di Borgoquercia {XSS}"
    assert changes["changes"] == {
        "Stato": ("In attesa", "Modifiche richieste"),
        "Messaggio della redazione": ("—", "Aggiungete le date delle fasi."),
    }

    deleted = by_action["Termine di vocabolario eliminato"]
    assert deleted["link"] is None  # gone: its last name, from the entry itself
    assert deleted["object"] == "Termine Orti urbani di prova (non esiste più)"
    assert deleted["changes"]["Etichetta"] == ("Orti urbani di prova", "—")
    assert deleted["changes"]["Vocabolario"] == ("Tematica specifica", "—")
    assert by_action["Termine di vocabolario aggiunto"]["link"] is None

    synonym = by_action["Gruppo di sinonimi aggiunto"]
    assert synonym["link"] == f"/redazione/sinonimi/{group['id']}/modifica"
    assert synonym["link_text"] == "orti urbani = orti condivisi"
    assert synonym["changes"]["Espressioni"] == ("—", "orti urbani\norti condivisi")

    merged = by_action["Enti uniti"]
    assert (merged["kind"], merged["link"], merged["link_text"]) == (
        "Ente",
        "/enti/comune-di-torino",
        "Comune di Torino",
    )
    assert merged["changes"]["Ente unito › Nome"] == ("Comune di Chieri", "—")

    account = by_action["Account creato"]
    assert account["object"] == "Account Nuova Redattrice" and account["actor"] == "riga di comando"
    assert account["changes"]["Ruolo"] == ("—", "Redattore")
    assert account["changes"]["Nome utente"] == ("—", "nuova.redattrice")
    assert account["link"] == f"/redazione/account/{created['id']}"
    subscribed = by_action["Riepilogo giornaliero attivato o disattivato"]
    assert (subscribed["link"], subscribed["link_text"]) == (
        f"/redazione/account/{admin['id']}",
        admin["display_name"],
    )
    assert subscribed["changes"] == {"Riepilogo giornaliero": ("no", "sì")}


async def test_a_term_still_in_use_links_to_its_vocabulary(empty_client):
    admin = await login_as(empty_client, "amministratore")
    run_in_app(empty_client, vocabularies.create_term, "metodo", "Passeggiata di quartiere", "", admin)
    (added,) = await _log(empty_client, azione="termine.crea")
    assert (added["link"], added["link_text"]) == (
        "/redazione/vocabolari#vocabolario-metodo",
        "Passeggiata di quartiere",
    )


# --- filters ----------------------------------------------------------------------------------------


async def test_dates_are_days_in_italian_time_both_included(empty_client):
    admin = await login_as(empty_client, "amministratore")
    moments = {
        "prima": datetime.datetime(2026, 12, 6, 22, 30, tzinfo=datetime.UTC),  # 6 Dec 23:30 in Italy
        "inizio": datetime.datetime(2026, 12, 6, 23, 30, tzinfo=datetime.UTC),  # 7 Dec 00:30
        "fine": datetime.datetime(2026, 12, 8, 22, 59, tzinfo=datetime.UTC),  # 8 Dec 23:59
        "dopo": datetime.datetime(2026, 12, 8, 23, 0, tzinfo=datetime.UTC),  # 9 Dec 00:00
    }
    for name, moment in moments.items():
        _record(empty_client, admin, "termine.ordina", "termine", "tematica/x", name, moment)
    ordered = {"azione": "termine.ordina"}  # not the account created meanwhile

    async def summaries(**params):
        return [e["summary"] for e in await _log(empty_client, **ordered, **params)]

    assert await summaries(dal="2026-12-07", al="2026-12-08") == ["fine", "inizio"]
    assert await summaries(dal="7/12/2026") == ["dopo", "fine", "inizio"]
    assert await summaries(al="06.12.2026") == ["prima"]
    assert await summaries(dal="2026-12-07", al="2026-12-07") == ["inizio"]
    page = soup(await empty_client.get(AUDIT, params={**ordered, "dal": "2026-12-07", "al": "2026-12-08"}))
    assert (
        page.select_one("#f-dal")["value"] == "2026-12-07"
        and page.select_one("#f-al")["value"] == "2026-12-08"
    )
    assert page.select_one("#voci").get_text(strip=True) == "2 voci con questi filtri"
    typed_in_italian = soup(await empty_client.get(AUDIT, params={**ordered, "dal": "7/12/2026"}))
    assert typed_in_italian.select_one("#f-dal")["value"] == "2026-12-07"  # as a date field takes it


async def test_filters_by_person_action_and_process_alone_and_together(client):
    admin = await login_as(client, "amministratore")
    editor = run_in_app(client, accounts.create_staff, "rita", "Rita Redattrice", "redattore", STAFF_PASSWORD)
    patti = process_row(client, PATTI)
    other = run_in_app(client, lambda: Process.select().where(Process.slug != PATTI).first())
    day = datetime.datetime(2026, 3, 10, 9, 0, tzinfo=datetime.UTC)
    entries = [
        (admin, "processo.modifica", "processo", patti["id"], "a"),
        (editor, "processo.modifica", "processo", patti["id"], "b"),
        (editor, "processo.ritira", "processo", other["id"], "c"),
        (editor, "termine.crea", "termine", "tematica/orti", "d"),
        (None, "processo.modifica", "processo", patti["id"], "e"),
    ]
    for n, (actor, action, kind, object_id, summary) in enumerate(entries):
        _record(client, actor, action, kind, str(object_id), summary, day + datetime.timedelta(days=n))
    # a submission about the process: its entries are the process's too
    visitor_token = await csrf_token(client)
    form = submission_form(visitor_token, title="Orti nuovi e unici di Borgoquercia", conferma="1")
    assert (await client.post("/segnala", data=form, follow_redirects=False)).status_code == 303
    submission = stored_submissions(client)[-1]
    decision = run_in_app(client, moderation.approve, submission["id"], editor)
    _set_time(client, day + datetime.timedelta(days=10), *_entry_ids(client, "segnalazione.approva"))

    def summaries(found):
        return [e["summary"] for e in found]

    assert summaries(await _log(client, autore=str(editor["id"]))) == [
        f"Approvata la segnalazione {submission['id']} («Orti nuovi e unici di Borgoquercia»)",
        "d",
        "c",
        "b",
    ]
    assert summaries(await _log(client, autore="riga-di-comando", azione="processo.modifica")) == ["e"]
    assert summaries(await _log(client, azione="processo.modifica")) == ["e", "b", "a"]
    assert summaries(await _log(client, processo=str(patti["id"]))) == ["e", "b", "a"]
    title_part = patti["title"].split()[0].upper()  # case and accents do not matter
    assert "b" in summaries(await _log(client, processo=title_part))
    assert summaries(await _log(client, processo="nuovi e unici di borgo")) == [
        f"Approvata la segnalazione {submission['id']} («Orti nuovi e unici di Borgoquercia»)"
    ]
    assert summaries(await _log(client, processo=str(decision.process_id))) == summaries(
        await _log(client, processo="nuovi e unici di borgo")
    )
    together = {"autore": str(editor["id"]), "azione": "processo.modifica", "processo": str(patti["id"])}
    assert summaries(await _log(client, **together)) == ["b"]
    assert summaries(await _log(client, **together, dal="2026-03-12")) == []
    assert summaries(await _log(client, **together, al="2026-03-11")) == ["b"]
    page = soup(await client.get(AUDIT, params=together))
    assert page.select_one("#f-autore option[selected]")["value"] == str(editor["id"])
    assert page.select_one("#f-azione option[selected]").get_text() == "Processo modificato"
    assert page.select_one("#f-processo")["value"] == str(patti["id"])


async def test_pages_keep_the_filters(empty_client):
    admin = await login_as(empty_client, "amministratore")

    async def write_many():
        for number in range(60):
            await accounts.record_audit(admin, "termine.ordina", "termine", "tematica/x", f"voce {number}")

    run_in_app(empty_client, write_many)
    params = {"azione": "termine.ordina", "autore": str(admin["id"]), "dal": "1/1/2020"}
    first = soup(await empty_client.get(AUDIT, params=params))
    assert len(first.select("article.audit-entry")) == 50
    assert first.select_one(".audit-summary").get_text() == "voce 59"
    next_link = first.select_one('.pagination a[rel="next"]')["href"]
    assert parse_qs(urlsplit(next_link).query) == {**{k: [v] for k, v in params.items()}, "pagina": ["2"]}
    second = soup(await empty_client.get(AUDIT + next_link))
    assert [e.get_text() for e in second.select(".audit-summary")] == [f"voce {n}" for n in range(9, -1, -1)]
    assert parse_qs(urlsplit(second.select_one("a[download]")["href"]).query) == {
        k: [v] for k, v in params.items()
    }


async def test_wrong_filters_are_refused_with_a_message_next_to_the_field(empty_client):
    await login_as(empty_client, "amministratore")
    cases = {
        ("dal", "ieri"): "«ieri» non è una data: scrivi giorno, mese e anno, ad esempio 7/12/2026.",
        ("dal", "31/02/2026"): "«31/02/2026» non è una data esistente: controlla giorno e mese.",
        ("al", "2026-13-01"): "«2026-13-01» non è una data esistente: controlla giorno e mese.",
        ("al", "31/12/9999"): "«31/12/9999»: l'anno va dal 2000 al 2100.",
        ("dal", "0001-01-01"): "«0001-01-01»: l'anno va dal 2000 al 2100.",
        ("autore", "nessuno"): "nessun componente della redazione corrisponde a questa scelta.",
        ("autore", "99999"): "nessun componente della redazione corrisponde a questa scelta.",
        ("autore", "²"): "nessun componente della redazione corrisponde a questa scelta.",
        ("azione", "processo.cancella"): "azione sconosciuta «processo.cancella»: scegline una dall'elenco.",
        ("processo", "x" * 301): "scrivi al massimo 300 caratteri del titolo.",
        ("processo", "«»"): "scrivi una parte del titolo del processo (lettere o cifre) o il suo numero.",
    }
    for (name, value), message in cases.items():
        for path in (AUDIT, CSV_PATH):
            response = await empty_client.get(
                path, params={name: value, "azione": "utente.crea"} if name != "azione" else {name: value}
            )
            assert response.status_code == 400, (name, value, path)
            assert response.headers["content-type"].startswith("text/html")
            page = soup(response)
            assert page.select_one(f"#errore-{name}").get_text(" ", strip=True) == f"Errore: {message}"
            assert page.select_one(f"#f-{name}")["aria-invalid"] == "true"
            assert page.select_one(f".error-summary a[href='#f-{name}']")
            assert not page.select("article.audit-entry")
            if name in ("dal", "al", "processo"):
                assert page.select_one(f"#f-{name}")["value"] == value  # what was typed stays
                assert page.select_one(f"#f-{name}")["type"] == "text"  # shown as typed, even if no date
    too_long_a_number = await empty_client.get(AUDIT, params={"processo": "9" * 30})  # read as a title
    assert too_long_a_number.status_code == 200 and not soup(too_long_a_number).select("article.audit-entry")
    backwards = soup(await empty_client.get(AUDIT, params={"dal": "2026-12-08", "al": "2026-12-07"}))
    assert backwards.select_one("#errore-al").get_text(" ", strip=True) == (
        "Errore: la data finale (7/12/2026) viene prima di quella iniziale (8/12/2026)."
    )
    assert backwards.select_one("title").get_text().startswith("Errore: ")


# --- the CSV -----------------------------------------------------------------------------------------


def _csv_rows(response) -> list[dict]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"].startswith('attachment; filename="registro-attivita-')
    assert response.content.startswith(b"\xef\xbb\xbf")  # UTF-8 with a BOM
    reader = csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"), newline=""))
    assert tuple(reader.fieldnames) == CSV_COLUMNS
    return list(reader)


async def test_the_csv_holds_the_entries_of_the_filtered_page_in_the_same_order(client):
    admin = await login_as(client, "amministratore")
    patti = process_row(client, PATTI)
    for n in range(3):
        _record(
            client,
            admin,
            "processo.modifica",
            "processo",
            str(patti["id"]),
            f'Modifica {n}, con «virgolette», "doppi apici" e a capo\nseconda riga',
            WINTER + datetime.timedelta(minutes=n),
            before={"title": patti["title"], "start_year": 2017},
            after={"title": patti["title"], "start_year": 2018 + n},
        )
    _record(client, admin, "termine.crea", "termine", "tematica/x", '=HYPERLINK("http://x.example")', WINTER)
    params = {"azione": "processo.modifica", "dal": "2026-12-07"}
    page = await _log(client, **params)
    rows = _csv_rows(await client.get(CSV_PATH, params=params))
    assert len(rows) == len(page) == 3
    for shown, row in zip(page, rows, strict=True):
        assert row["Azione"] == shown["action"] == "Processo modificato"
        assert row["Codice dell'azione"] == "processo.modifica"
        assert row["Persona"] == shown["actor"]
        assert row["Oggetto"] == "Processo" and row["Nome dell'oggetto"] == patti["title"]
        assert row["Identificativo dell'oggetto"] == str(patti["id"])
        assert row["Collegamento"] == f"http://127.0.0.1:8000/redazione/processi/{patti['id']}/versioni"
        assert row["Riepilogo"] == shown["summary"]
    assert [row["Data e ora (ora italiana)"] for row in rows] == [
        "2026-12-07 14:07:00",
        "2026-12-07 14:06:00",
        "2026-12-07 14:05:00",
    ]
    assert rows[0]["Riepilogo"] == 'Modifica 2, con «virgolette», "doppi apici" e a capo\nseconda riga'
    assert rows[0]["Modifiche"] == "Anno di avvio: 2017 → 2020"
    # a cell a spreadsheet would take for a formula starts with an apostrophe
    (formula,) = _csv_rows(await client.get(CSV_PATH, params={"azione": "termine.crea"}))
    assert formula["Riepilogo"] == '\'=HYPERLINK("http://x.example")'


async def test_the_csv_of_a_long_log_has_every_entry_once_newest_first(empty_client):
    admin = await login_as(empty_client, "amministratore")

    async def write_many():
        for number in range(1_203):
            await accounts.record_audit(admin, "termine.ordina", "termine", "tematica/x", str(number))

    run_in_app(empty_client, write_many)
    # many at one moment: the batches must still neither skip nor repeat an entry
    same = run_in_app(
        empty_client,
        lambda: (
            AuditEntry.select(AuditEntry.id)
            .where(AuditEntry.summary.is_in([str(n) for n in range(400, 700)]))
            .output(as_list=True)
        ),
    )
    _set_time(empty_client, WINTER, *same)
    rows = _csv_rows(await empty_client.get(CSV_PATH, params={"azione": "termine.ordina"}))
    page = soup(await empty_client.get(AUDIT, params={"azione": "termine.ordina"}))
    assert page.select_one("#voci").get_text(strip=True) == "1203 voci con questi filtri"
    assert len(rows) == 1_203 and len({row["Riepilogo"] for row in rows}) == 1_203
    assert [row["Riepilogo"] for row in rows[:3]] == [e["summary"] for e in _entries(page)[:3]]


async def test_only_administrators_read_the_log_and_its_csv(empty_client):
    for path in (AUDIT, CSV_PATH):
        anonymous = await empty_client.get(path, follow_redirects=False)
        assert anonymous.status_code == 303
        assert anonymous.headers["location"].startswith("/redazione/accesso?dopo=")
    await login_as(empty_client, "redattore")
    for path in (AUDIT, CSV_PATH):
        refused = await empty_client.get(path, params={"azione": "utente.crea"})
        assert refused.status_code == 403, path
        assert "riservata agli amministratori" in refused.text
        assert "Account creato" not in refused.text and soup(refused).find("table") is None  # no entry shown
    await login_as(empty_client, "amministratore")
    response = await empty_client.get(CSV_PATH)
    assert response.headers["cache-control"] == "no-store"
    assert [row["Azione"] for row in _csv_rows(response)] == ["Account creato", "Account creato"]
