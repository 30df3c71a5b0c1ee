"""Order search at scale: 1,000,000 fictional orders in a temporary SQLite database, then the
clerk's representative searches, timed twice: the query alone, and the whole page
(``POST /orders`` through the app, signed in as a clerk, template rendered).

    .venv/bin/python bench/bench_search.py [--orders N] [--repeat R]

``run() -> dict`` is what ``make bench`` calls (``bench.run`` writes ``bench/results.json``);
the script prints the same dict as JSON. ``--database-url`` runs it on an empty PostgreSQL
database instead of a temporary SQLite file. Budget (issue 5): p95 under 100 ms.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, text

from logging_app import create_app, schema, search
from logging_app.credentials import hash_secret
from logging_app.db import engine_of, new_session
from logging_app.models import ImagingService, Order, Physician, PhysicianPhone, User
from logging_app.order_numbers import luhn_check_digit

FIRST = [
    "Hélène",
    "Marie",
    "Jean",
    "Pierre",
    "Élise",
    "Luc",
    "François",
    "Chloé",
    "Léa",
    "Noémie",
    "Gabriel",
    "Émile",
    "Béatrice",
    "Zoé",
    "André",
    "Sébastien",
    "Geneviève",
    "Mélanie",
    "Josée",
    "Réjean",
    "Gaétan",
    "Thérèse",
    "Cédric",
    "Maxime",
    "Olivier",
    "Sophie",
    "Julie",
    "Nathalie",
    "Isabelle",
    "Martin",
    "Éric",
    "Stéphane",
    "Benoît",
    "Lucie",
    "Denise",
    "Anaïs",
    "Mathéo",
]
LAST = [
    "Tremblay",
    "Gagnon",
    "Roy",
    "Côté",
    "Bouchard",
    "Gauthier",
    "Morin",
    "Lavoie",
    "Fortin",
    "Gagné",
    "Ouellet",
    "Pelletier",
    "Bélanger",
    "Lévesque",
    "Bergeron",
    "Leblanc",
    "Paquette",
    "Girard",
    "Simard",
    "Boucher",
    "Caron",
    "Beaulieu",
    "Cloutier",
    "Dubé",
    "Poirier",
    "Fournier",
    "Lapointe",
    "Leclerc",
    "Lefebvre",
    "Poulin",
    "Thibault",
    "St-Pierre",
    "Nadeau",
    "Martin",
    "Landry",
    "Martel",
    "Bédard",
    "Grenier",
    "Lessard",
    "Bernier",
    "Richard",
    "Michaud",
    "Hébert",
    "Desjardins",
    "Couture",
    "Turcotte",
    "Lachance",
    "Parent",
    "Blais",
    "Gosselin",
    "Savard",
    "Proulx",
    "Beaudoin",
    "Demers",
    "Perron",
    "Boudreau",
]
CITIES = [
    "Montréal",
    "Laval",
    "Québec",
    "Longueuil",
    "Gatineau",
    "Sherbrooke",
    "Saguenay",
    "Lévis",
    "Trois-Rivières",
]
STATUSES = (
    ["transmitted"] * 85
    + ["ready"] * 5
    + ["draft"] * 3
    + ["cancelled"] * 2
    + ["awaiting_confirmation"] * 3
    + ["in_transmission"] * 2
)
CLERK_PASSWORD = "bench-archives-2026"  # noqa: S105  (a throwaway database)


def _number(index: int) -> str:
    payload = f"{1_000_000 + index:07d}"
    return payload + luhn_check_digit(payload)


def _seed(app: Any, orders: int, rng: random.Random) -> dict[str, Any]:
    """Physicians, services, a clerk and ``orders`` orders with their search documents."""
    engine = engine_of(app)
    pin_hash = hash_secret("2468")
    physicians = [
        {
            "id": i + 1,
            "name": f"Dr {rng.choice(FIRST)} {rng.choice(LAST)}",
            "licence_number": f"{1_000_000 + i}",
            "pin_hash": pin_hash,
            "language": "fr",
            "failed_pin_attempts": 0,
            "created_at": datetime(2015, 1, 1, tzinfo=UTC),
        }
        for i in range(2000)
    ]
    services = [
        {
            "id": i + 1,
            "name": f"{rng.choice(['Clinique', 'Centre', 'Hôpital'])} d'imagerie "
            f"{rng.choice(CITIES)} {rng.choice(LAST)}",
            "kind": "clinic",
            "phone": f"+1450555{i:04d}",
            "accepts_verbal_orders": True,
            "created_at": datetime(2015, 1, 1, tzinfo=UTC),
        }
        for i in range(150)
    ]
    start, step = datetime(2016, 1, 1, tzinfo=UTC), timedelta(minutes=5)
    with engine.begin() as connection:
        connection.execute(insert(Physician), physicians)
        connection.execute(
            insert(PhysicianPhone),
            [{"physician_id": i + 1, "number": f"+1514555{i:04d}"} for i in range(2000)],
        )
        connection.execute(insert(ImagingService), services)
        connection.execute(
            insert(User),
            [
                {
                    "username": "archiviste",
                    "password_hash": hash_secret(CLERK_PASSWORD),
                    "role": "clerk",
                    "active": True,
                    "failed_logins": 0,
                    "created_at": start,
                }
            ],
        )
    batch = 50_000
    for first in range(0, orders, batch):
        rows, documents = [], []
        for index in range(first, min(first + batch, orders)):
            given, family = rng.choice(FIRST), rng.choice(LAST)
            physician = physicians[rng.randrange(len(physicians))]
            status = rng.choice(STATUSES)
            service = None if status == "draft" else services[rng.randrange(len(services))]
            created = start + step * index
            nam = (search.fold(family).replace(" ", "") + "xxx")[:3].upper()
            nam += search.fold(given)[0].upper() + f"{rng.randrange(10**8):08d}"
            row = {
                "id": index + 1,
                "number": _number(index),
                "physician_id": physician["id"],
                "patient_name": f"{given} {family}",
                "patient_dob": datetime(1940 + index % 70, 1 + index % 12, 1).date(),
                "patient_nam": nam,
                "exam_text": "Radiographie pulmonaire",
                "indication": "Toux persistante",
                "priority": "routine",
                "service_id": service["id"] if service else None,
                "status": status,
                "created_at": created,
                "updated_at": created,
            }
            rows.append(row)
            document = search.document(
                row["number"],
                row["patient_name"],
                nam,
                physician["name"],
                physician["licence_number"],
                service["name"] if service else None,
            )
            documents.append((index + 1, document))
        with engine.begin() as connection:
            connection.execute(insert(Order), rows)
            search.write_documents(connection, documents)
    return {"physicians": physicians, "services": services, "end": start + step * orders}


def _cases(
    world: dict[str, Any], orders: int, rng: random.Random
) -> list[tuple[str, dict[str, str]]]:
    """Representative searches: (name, query-string parameters); several variants each."""
    sample_physician = world["physicians"][rng.randrange(2000)]
    sample_service = world["services"][rng.randrange(150)]
    end = world["end"]
    month_ago = (end - timedelta(days=30)).date().isoformat()
    some_number = _number(rng.randrange(orders))
    return [
        ("list, no search", {}),
        ("order number", {"q": some_number}),
        ("NAM (from a recent order)", {"q": "__NAM__"}),
        ("common family name", {"q": "Tremblay"}),
        ("full name typed without accents", {"q": "helene cote"}),
        ("family-name prefix", {"q": "bouch"}),
        ("physician licence", {"q": sample_physician["licence_number"]}),
        ("physician name", {"q": sample_physician["name"].split()[-1] + " dr"}),
        ("service name", {"q": sample_service["name"].split()[-1]}),
        ("status filter (cancelled)", {"status": "cancelled"}),
        ("last 30 days", {"date_from": month_ago}),
        ("name + status", {"q": "gagnon", "status": "awaiting_confirmation"}),
        ("name + service", {"q": "roy", "service": str(sample_service["id"])}),
        ("name, page 5", {"q": "lavoie", "page": "5"}),
        (
            "name within an old month",
            {"q": "simard", "date_from": "2016-03-01", "date_to": "2016-03-31"},
        ),
        ("no match", {"q": "zzqxw"}),
    ]


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {
        "p50_ms": round(statistics.median(ordered), 2),
        "p95_ms": round(p95, 2),
        "max_ms": round(ordered[-1], 2),
    }


def run(
    orders: int = 1_000_000, repeat: int = 20, seed: int = 7, database_url: str | None = None
) -> dict[str, Any]:
    """Seed ``orders`` orders, run each representative search ``repeat`` times; p50/p95.

    On a temporary SQLite file, or on ``database_url`` (an empty PostgreSQL schema)."""
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="ordophone-bench-") as folder:
        app = create_app(
            {
                "INSTANCE_PATH": f"{folder}/instance",
                "DATABASE_URL": database_url or f"sqlite:///{folder}/bench.sqlite3",
                "SECRET_KEY": "bench-secret-key-0123456789",
            }
        )
        dialect = engine_of(app).dialect.name
        schema.upgrade(engine_of(app))
        began = time.perf_counter()
        world = _seed(app, orders, rng)
        seeded_s = time.perf_counter() - began
        if dialect == "sqlite":
            size_mb = Path(f"{folder}/bench.sqlite3").stat().st_size / 1e6
        else:
            with engine_of(app).begin() as connection:  # committed, or the statistics are lost
                connection.execute(text("ANALYZE orders, order_search"))  # ours only
                size_mb = (
                    connection.scalar(text("SELECT pg_database_size(current_database())")) / 1e6
                )
        with new_session(app) as db:  # no app context: each request gets its own
            recent = db.get(Order, orders - 5)
            assert recent is not None
            nam = recent.patient_nam
            db.rollback()  # SQLite: every transaction holds the write lock (BEGIN IMMEDIATE)
            results: dict[str, Any] = {}
            client = app.test_client()
            page = client.get("/login").get_data(as_text=True)
            token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
            signed = client.post(
                "/login",
                data={"username": "archiviste", "password": CLERK_PASSWORD, "csrf_token": token},
            )
            assert signed.status_code == 302
            page = client.get("/orders").get_data(as_text=True)  # the search form's token
            token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
            for name, params in _cases(world, orders, rng):
                params = {k: (nam if v == "__NAM__" else v) for k, v in params.items()}
                query_ms, page_ms, rows = [], [], 0
                for attempt in range(repeat + 2):  # two warm-ups
                    t0 = time.perf_counter()
                    statement = search.order_query(
                        dialect,
                        params.get("q", ""),
                        status=params.get("status"),
                        service_id=int(params["service"]) if "service" in params else None,
                    )
                    if "date_from" in params or "date_to" in params:
                        statement = None  # dates go through the page only (Montréal days)
                    if statement is not None:
                        offset = (int(params.get("page", "1")) - 1) * 25
                        db.scalars(statement.limit(26).offset(offset)).all()
                        db.rollback()
                    t1 = time.perf_counter()
                    if params:  # a search is posted (never in the URL), as the form does
                        response = client.post("/orders", data={**params, "csrf_token": token})
                    else:
                        response = client.get("/orders")
                    t2 = time.perf_counter()
                    assert response.status_code == 200, (name, response.status_code)
                    rows = response.get_data(as_text=True).count('class="order-number"')
                    if attempt >= 2:
                        if statement is not None:
                            query_ms.append((t1 - t0) * 1000)
                        page_ms.append((t2 - t1) * 1000)
                results[name] = {
                    "query": _percentiles(query_ms) if query_ms else None,
                    "page": _percentiles(page_ms),
                    "rows_on_page": rows,
                }
            db.rollback()
        engine_of(app).dispose()
    all_pages = [case["page"]["p95_ms"] for case in results.values()]
    return {
        "database": dialect,
        "orders": orders,
        "repeat": repeat,
        "seed_seconds": round(seeded_s, 1),
        "database_mb": round(size_mb, 1),
        "worst_page_p95_ms": max(all_pages),
        "budget_p95_ms": 100,
        "cases": results,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--database-url", help="an empty PostgreSQL database (default: SQLite)")
    args = parser.parse_args()
    figures = run(args.orders, args.repeat, database_url=args.database_url)
    print(json.dumps(figures, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
