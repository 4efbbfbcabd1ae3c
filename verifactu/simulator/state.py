"""What the simulator holds: accepted records, chain tails and receive counts.

Kept in memory and, when a ``state_file`` is given, mirrored to SQLite (write-through) so a
restarted simulator still knows what it accepted. All access goes through one lock: the
simulator processes one envelope at a time, like a single AEAT partition would.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass
class StoredRecord:
    """One invoice as AEAT holds it (the latest accepted alta, possibly annulled)."""

    id_emisor: str
    num_serie: str
    fecha_expedicion: str
    obligado_nif: str
    estado: str  # Correcto | AceptadoConErrores | Anulado
    huella: str
    csv: str
    nif_presentador: str
    timestamp_presentacion: str
    timestamp_modificacion: str
    raw_xml: str  # the RegistroAlta (or, for SinRegistroPrevio, the RegistroAnulacion)
    tipo: str = "Alta"
    ref_externa: str = ""
    codigo_error: int | None = None
    descripcion_error: str = ""
    estado_previo: str = ""  # state before annulment, for RegistroDuplicado answers
    recipients: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        return record_key(self.id_emisor, self.num_serie, self.fecha_expedicion)


def record_key(id_emisor: str, num_serie: str, fecha: str) -> str:
    return f"{id_emisor}|{num_serie}|{fecha}"


@dataclass
class Chain:
    """Tail of one chain (obligado + installation) and every huella received in it."""

    tail: str | None = None
    seen: set[str] = field(default_factory=set)


class State:
    def __init__(self, state_file: str | Path | None = None) -> None:
        self.lock = threading.RLock()
        self.records: dict[str, StoredRecord] = {}
        self.chains: dict[str, Chain] = {}
        self.received: dict[str, int] = {}
        # RefRequerimiento -> records received on the Requerimiento endpoint, in order.
        self.requerimientos: dict[str, list[dict]] = {}
        self._db: sqlite3.Connection | None = None
        if state_file:
            self._db = sqlite3.connect(str(state_file), check_same_thread=False)
            self._db.executescript(
                """
                CREATE TABLE IF NOT EXISTS record (key TEXT PRIMARY KEY, data TEXT NOT NULL);
                CREATE TABLE IF NOT EXISTS chain (key TEXT PRIMARY KEY, tail TEXT);
                CREATE TABLE IF NOT EXISTS seen (
                    chain TEXT NOT NULL, huella TEXT NOT NULL, PRIMARY KEY (chain, huella));
                CREATE TABLE IF NOT EXISTS received (key TEXT PRIMARY KEY, n INTEGER NOT NULL);
                CREATE TABLE IF NOT EXISTS requerimiento (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT, ref TEXT NOT NULL, data TEXT NOT NULL);
                """
            )
            self._load()

    def _load(self) -> None:
        assert self._db is not None
        for _key, data in self._db.execute("SELECT key, data FROM record"):
            rec = StoredRecord(**json.loads(data))
            self.records[rec.key] = rec
        for key, tail in self._db.execute("SELECT key, tail FROM chain"):
            self.chains[key] = Chain(tail=tail)
        for chain_key, huella in self._db.execute("SELECT chain, huella FROM seen"):
            self.chains.setdefault(chain_key, Chain()).seen.add(huella)
        for key, n in self._db.execute("SELECT key, n FROM received"):
            self.received[key] = n
        for ref, data in self._db.execute("SELECT ref, data FROM requerimiento ORDER BY seq"):
            self.requerimientos.setdefault(ref, []).append(json.loads(data))

    def chain(self, key: str) -> Chain:
        return self.chains.setdefault(key, Chain())

    def advance_chain(self, key: str, huella: str) -> None:
        chain = self.chain(key)
        chain.tail = huella
        chain.seen.add(huella)
        if self._db is not None:
            self._db.execute("INSERT OR REPLACE INTO chain VALUES (?, ?)", (key, huella))
            self._db.execute("INSERT OR IGNORE INTO seen VALUES (?, ?)", (key, huella))

    def count_received(self, key: str) -> None:
        self.received[key] = self.received.get(key, 0) + 1
        if self._db is not None:
            self._db.execute(
                "INSERT OR REPLACE INTO received VALUES (?, ?)", (key, self.received[key])
            )

    def add_requerimiento(self, ref: str, records: list[dict]) -> None:
        self.requerimientos.setdefault(ref, []).extend(records)
        if self._db is not None:
            self._db.executemany(
                "INSERT INTO requerimiento (ref, data) VALUES (?, ?)",
                [(ref, json.dumps(r)) for r in records],
            )

    def put(self, record: StoredRecord) -> None:
        self.records[record.key] = record
        if self._db is not None:
            self._db.execute(
                "INSERT OR REPLACE INTO record VALUES (?, ?)",
                (record.key, json.dumps(asdict(record))),
            )

    def commit(self) -> None:
        if self._db is not None:
            self._db.commit()

    def reset(self) -> None:
        with self.lock:
            self.records.clear()
            self.chains.clear()
            self.received.clear()
            self.requerimientos.clear()
            if self._db is not None:
                self._db.executescript(
                    "DELETE FROM record; DELETE FROM chain; DELETE FROM seen; DELETE FROM received;"
                    " DELETE FROM requerimiento;"
                )
                self._db.commit()

    def snapshot(self) -> dict:
        with self.lock:
            return {
                "records": [asdict(r) for r in self.records.values()],
                "received": dict(self.received),
                "chains": {k: c.tail for k, c in self.chains.items()},
                "requerimientos": {k: list(v) for k, v in self.requerimientos.items()},
            }

    def close(self) -> None:
        with self.lock:
            if self._db is not None:
                self._db.commit()
                self._db.close()
                self._db = None
