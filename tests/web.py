"""Signing in through the real Flask app's test client."""

from __future__ import annotations

import re

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from db.seed import DEMO_PASSWORD


def csrf_token(client: FlaskClient) -> str:
    page = client.get("/login").get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, page
    return match.group(1)


def sign_in(
    client: FlaskClient, email: str, password: str = DEMO_PASSWORD, next_path: str = ""
) -> TestResponse:
    return client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": csrf_token(client),
              "next": next_path},
    )  # fmt: skip
