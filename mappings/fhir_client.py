"""The few FHIR REST calls the importer makes, over httpx, with a bearer token.

Kept apart from the import logic so tests can hand the importer an httpx transport (an in-process app or
a mock) and the CLI a real server URL.
"""

from __future__ import annotations

from typing import Any

import httpx
import orjson

FHIR_JSON = "application/fhir+json"
# Identifiers per search: keeps the URL short and the server's OR-expression small (SQLite caps its depth).
SEARCH_CHUNK = 50


class FhirRequestError(Exception):
    """The server refused a request; `status` is the HTTP status, the message the server's diagnostics."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _diagnostics(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:500]
    issues = body.get("issue") if isinstance(body, dict) else None
    if isinstance(issues, list) and issues:
        return "; ".join(str(i.get("diagnostics") or i.get("code")) for i in issues if isinstance(i, dict))
    if isinstance(body, dict) and "error" in body:
        return str(body.get("error_description") or body["error"])
    return response.text[:500]


class FhirClient:
    def __init__(self, base_url: str, token: str | None, *, transport: httpx.BaseTransport | None = None) -> None:
        headers = {"Accept": FHIR_JSON}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.base = base_url.rstrip("/")
        self._http = httpx.Client(headers=headers, timeout=httpx.Timeout(300.0, connect=10.0), transport=transport)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> FhirClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _check(self, response: httpx.Response) -> httpx.Response:
        if response.status_code in (401, 403):
            raise FhirRequestError(
                response.status_code,
                f"the server refused the token ({_diagnostics(response)}); pass --token or set NOVAMIND_TOKEN "
                "to a token with system/*.cruds (see `novamind token`; a long import needs one that outlives it, "
                "`novamind token --lifetime SECONDS`). Records already sent are stored: running the same import "
                "again resumes, counting them as unchanged",
            )
        if response.status_code >= 400:
            raise FhirRequestError(response.status_code, _diagnostics(response))
        return response

    def exists(self, res_type: str, res_id: str) -> bool:
        response = self._http.get(f"{self.base}/{res_type}/{res_id}")
        if response.status_code in (404, 410):
            return False
        self._check(response)
        return True

    def transaction(self, bundle: dict[str, Any]) -> dict[str, Any]:
        response = self._http.post(
            self.base,
            content=orjson.dumps(bundle),
            headers={"Content-Type": FHIR_JSON, "Prefer": "return=minimal"},
        )
        result: dict[str, Any] = self._check(response).json()
        return result

    def existing_identifiers(self, res_type: str, system: str, values: list[str]) -> set[str]:
        """Which of `values` (identifiers in `system`) the server holds, asked `SEARCH_CHUNK` at a time."""
        found: set[str] = set()
        for i in range(0, len(values), SEARCH_CHUNK):
            chunk = values[i : i + SEARCH_CHUNK]
            params = {
                "identifier": ",".join(f"{system}|{v}" for v in chunk),
                "_elements": "identifier",
                "_count": str(len(chunk)),
            }
            for entry in self.search(res_type, params).get("entry") or []:
                for ident in entry.get("resource", {}).get("identifier") or []:
                    if ident.get("system") == system:
                        found.add(ident.get("value"))
        return found & set(values)

    def search(self, res_type: str, params: dict[str, str]) -> dict[str, Any]:
        result: dict[str, Any] = self._check(self._http.get(f"{self.base}/{res_type}", params=params)).json()
        return result
