"""CI's installed-package check: build the wheel, install it into a fresh virtual environment
outside the checkout, and run it as a user would (init-db, demo-seed, serve; the sign-in page
in French and English; a simulated call that ends transmitted, whose exported record passes
pyHanko's validation with the exported certificate as trust root, is PDF/A-3 with its
record.json, and whose FHIR export validates).

Run with the project's Python (it needs ``build``): ``.venv/bin/python .ci/installed_package.py``.
Exit 0 when everything held; otherwise the step that failed is printed and the exit is 1.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent


def step(title: str) -> None:
    print(f"== installed package: {title}", flush=True)


def run(*command: str | Path, **options: object) -> str:
    """Run ``command``; its output, or stop the check with it."""
    done = subprocess.run(  # noqa: S603 - our own commands
        [str(part) for part in command], capture_output=True, text=True, **options
    )
    if done.returncode != 0:
        sys.exit(f"FAILED ({done.returncode}): {' '.join(map(str, command))}\n"
                 f"{done.stdout}\n{done.stderr}")  # fmt: skip
    return done.stdout


def free_port() -> int:
    """A port with nothing on it, and its next one (the simulator's) free too."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        with socket.socket() as second:
            try:
                second.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
    sys.exit("FAILED: no two free ports in a row")


def get(url: str, language: str) -> tuple[int, str]:
    request = urllib.request.Request(url, headers={"Accept-Language": language})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - local
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="ordophone-wheel-"))
    server: subprocess.Popen[str] | None = None
    try:
        step("building the wheel (python -m build: sdist, then the wheel from it)")
        run(sys.executable, "-m", "build", "--outdir", work / "dist", CHECKOUT)
        (wheel,) = (work / "dist").glob("ordophone-*.whl")
        step(f"installing {wheel.name} into a fresh virtual environment")
        run(sys.executable, "-m", "venv", work / "venv")
        bin_dir = work / "venv" / "bin"
        run(bin_dir / "python", "-m", "pip", "install", "--quiet", wheel)
        ordophone = bin_dir / "ordophone"
        env = {key: value for key, value in os.environ.items() if not key.startswith("TWILIO_")}
        env.pop("DATABASE_URL", None)
        env.update({"ORDOPHONE_INSTANCE": str(work / "instance"), "PYTHONPATH": ""})
        where = {"cwd": work, "env": env}  # outside the checkout: only the wheel is importable
        located = run(bin_dir / "python", "-c", "import logging_app; print(logging_app.__file__)",
                      **where)  # fmt: skip
        assert str(work / "venv") in located, f"logging_app imported from {located}"
        step("ordophone init-db, demo-seed")
        print(run(ordophone, "init-db", **where).strip())
        run(ordophone, "demo-seed", **where)
        port = free_port()
        step(f"ordophone serve on port {port}")
        log = (work / "serve.log").open("w")
        server = subprocess.Popen(  # noqa: S603
            [str(ordophone), "serve", "--port", str(port)], stdout=log, stderr=subprocess.STDOUT,
            text=True, cwd=work, env=env, start_new_session=True,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                status, _ = get(f"{base}/login", "fr")
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    sys.exit(
                        f"FAILED: the server did not start\n{(work / 'serve.log').read_text()}"
                    )
                time.sleep(0.2)
        for language, words, other in (("fr", "Se connecter", "Sign in"),
                                       ("en", "Sign in", "Se connecter")):  # fmt: skip
            status, page = get(f"{base}/login", language)
            if status != 200 or words not in page or other in page:
                sys.exit(f"FAILED: /login in {language} answered {status}\n{page[:2000]}")
            print(f"/login ({language}): 200, {words!r}")
        step("ordophone simulate --scenario radiologist")
        said = run(ordophone, "simulate", "--scenario", "radiologist", **where)
        if "attempt outcome: transmitted" not in said:
            sys.exit(f"FAILED: the simulated call did not end transmitted\n{said}")
        print(next(line for line in said.splitlines() if "attempt outcome" in line).strip())
        number = re.search(r"^Order (\d{8}):", said, re.M)
        if number is None:
            sys.exit(f"FAILED: no order number in the call's summary\n{said}")
        check_record(ordophone, bin_dir / "python", number[1], work, where)
        print("== installed package: OK")
    finally:
        if server is not None and server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
        shutil.rmtree(work, ignore_errors=True)


# Run by the installed package's own Python: its pyHanko, pikepdf and fhir.resources.
RECORD_CHECK = """
import hashlib, io, json, sys, warnings
warnings.simplefilter("ignore")
import pikepdf
from fhir.resources.R4B.bundle import Bundle
from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
pdf_path, pem_path, fhir_path = sys.argv[1:4]
data = open(pdf_path, "rb").read()
signature = PdfFileReader(io.BytesIO(data)).embedded_signatures[0]
context = ValidationContext(trust_roots=[load_cert_from_pemder(pem_path)])
status = validate_pdf_signature(signature, context)
assert status.bottom_line, status.pretty_print_details()
signer = status.signing_cert.subject.human_friendly
print("signature: valid and trusted,", status.coverage.name, "by", signer)
with pikepdf.open(io.BytesIO(data)) as pdf:
    meta = pdf.open_metadata()
    assert (meta["pdfaid:part"], meta["pdfaid:conformance"]) == ("3", "B"), "not PDF/A-3b"
    attached = pdf.attachments["record.json"].get_file().read_bytes()
level = meta["pdfaid:part"] + meta["pdfaid:conformance"]
print("PDF/A-%s, record.json SHA-256 %s" % (level, hashlib.sha256(attached).hexdigest()))
bundle = Bundle.model_validate(json.load(open(fhir_path)))
print("FHIR Bundle (%s): %d resources validate" % (bundle.type, len(bundle.entry)))
"""


def check_record(ordophone: Path, python: Path, number: str, work: Path, where: dict) -> None:
    """The call's record, exported and checked with the installed package's own tools."""
    step(f"the record of order {number}: signed, PDF/A-3, FHIR")
    pdf, pem, bundle = work / "record.pdf", work / "ordophone.pem", work / "record.fhir.json"
    export = [ordophone, "record", "export", number, "--copy", "service"]
    deadline = time.monotonic() + 60  # the renderer issues it once the call's material is in
    while subprocess.run([*map(str, export), "--out", str(pdf)], capture_output=True,  # noqa: S603
                         **where).returncode != 0:  # fmt: skip
        if time.monotonic() > deadline:
            sys.exit(f"FAILED: order {number} has no record after 60 s")
        time.sleep(1)
    pem.write_text(run(ordophone, "signing", "certificate", **where))
    run(*export, "--format", "fhir", "--out", bundle, **where)
    print(run(ordophone, "record", "verify", pdf, **where).strip())
    print(run(python, "-c", RECORD_CHECK, pdf, pem, bundle).strip())


if __name__ == "__main__":
    main()
