"""The baseline of the load benchmark: a bare Flask app that answers every webhook with the
same fixed TwiML (a one-digit ``<Gather>`` that posts back to itself), served by gunicorn
with exactly Ordophone's settings (``logging_app.server.gunicorn_options``).

    python -m bench.bare_twiml --port 5100 --workers 5
"""

from __future__ import annotations

import argparse

from flask import Flask, Response
from twilio.twiml.voice_response import VoiceResponse

from logging_app.server import WSGIServer, gunicorn_options


def create_bare_app() -> Flask:
    app = Flask("bare_twiml")
    response = VoiceResponse()
    gather = response.gather(action="/answer", num_digits=1, timeout=5)
    gather.say("Appuyez sur une touche.", language="fr-CA")
    twiml = str(response)

    @app.route("/", methods=["GET"])
    def index() -> str:
        return "bare"

    @app.route("/answer", methods=["POST"])
    @app.route("/incoming", methods=["POST"])
    def answer() -> Response:
        return Response(twiml, mimetype="text/xml")

    @app.route("/status", methods=["POST"])
    def status() -> Response:
        return Response(status=204)

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, required=True)
    args = parser.parse_args()
    WSGIServer(create_bare_app, gunicorn_options(args.host, args.port, args.workers)).run()


if __name__ == "__main__":
    main()
