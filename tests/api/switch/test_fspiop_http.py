"""How the FSPIOP routes are served: the lean route keeps FastAPI's answers for callers without a
token or scope, for methods a route does not serve, and the route template in the request's
scope; past the in-flight limit new work is refused with 2005 while answers are still taken."""

from __future__ import annotations

from typing import Any

import pytest

from baobab.infra.http.lean_route import LeanRoute
from baobab.kernel.ids import new_id
from baobab.switch.api import build_router
from baobab.switch.fspiop import ErrorCode, FspiopError
from baobab.switch.fspiop_api import Admission
from tests.api.switch.conftest import Hub


def test_every_fspiop_route_is_served_lean_and_the_admin_routes_by_fastapi(hub: Hub) -> None:
    routes = {
        (route.path, method): route.lean is not None
        for route in build_router(switch=hub.switch).routes
        if isinstance(route, LeanRoute)
        for method in route.methods or ()
    }
    assert routes[("/switch/transfers", "POST")]
    assert routes[("/switch/transfers/{transfer_id}", "PUT")]
    assert routes[("/switch/parties/{Type}/{ID}", "GET")]
    assert routes[("/switch/quotes/{quote_id}", "PUT")]
    assert not routes[("/switch/hub/participants", "POST")]  # a body model: FastAPI's
    assert not routes[("/switch/hub/callbacks/failed", "GET")]  # query parameters: FastAPI's


def test_no_token_gets_the_problem_document_with_the_request_id(hub: Hub) -> None:
    answer = hub.client.post("/switch/transfers", content=b"{}", headers={"x-request-id": "req-1"})
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == 'Bearer realm="baobab"'
    problem = answer.json()
    assert (problem["code"], problem["instance"], problem["request_id"]) == (
        "auth.missing_token",
        "/switch/transfers",
        "req-1",
    )
    assert answer.headers["content-type"] == "application/problem+json"


def test_a_token_without_the_scope_gets_403(hub: Hub) -> None:
    answer = hub.client.put(
        f"/switch/transfers/{new_id()}", content=b"{}", headers=hub.operator.headers
    )
    assert (answer.status_code, answer.json()["code"]) == (403, "auth.missing_scope")


def test_a_method_the_route_does_not_serve_gets_405(hub: Hub) -> None:
    answer = hub.client.delete("/switch/transfers", headers=hub.fsps["bank-a"].headers)
    assert answer.status_code == 405


def test_an_accepted_request_gets_an_empty_answer(hub: Hub) -> None:
    body, _ = hub.prepare_body()
    answer = hub.fspiop("POST", "/transfers", body, source="bank-a", destination="bank-b")
    assert (answer.status_code, answer.content) == (202, b"")
    assert answer.headers["content-length"] == "0"
    assert "x-request-id" in answer.headers


def test_admission_refuses_new_work_past_the_limit_but_takes_answers() -> None:
    admission = Admission(floor=1, limit=2)
    admission.enter("POST")
    admission.enter("GET")
    for method in ("POST", "GET"):
        with pytest.raises(FspiopError) as refused:
            admission.enter(method)
        assert (refused.value.error, refused.value.http_status) == (ErrorCode.SERVER_BUSY, 503)
    admission.enter("PUT")  # an answer to work in progress
    assert admission.in_flight == 3
    admission.leave()
    admission.leave()
    admission.enter("POST")
    assert admission.in_flight == 2


def test_admission_refuses_new_work_while_requests_wait_too_long() -> None:
    admission = Admission(target_delay=0.05, floor=2, limit=100)
    admission.started(0.2)
    admission.enter("GET")
    admission.enter("GET")  # up to the floor, taken whatever the wait
    with pytest.raises(FspiopError):
        admission.enter("POST")
    admission.enter("PUT")
    admission.started(0.01)  # the queue drained
    admission.enter("POST")
    assert admission.in_flight == 4


def test_admission_refuses_new_payments_before_payments_in_progress() -> None:
    admission = Admission(target_delay=0.05, floor=0, limit=8)
    admission.started(0.08)  # behind, but by less than twice the target
    with pytest.raises(FspiopError):
        admission.enter("GET", begins=True)
    admission.enter("POST")  # a quote or transfer of a payment begun
    admission.started(0.11)
    with pytest.raises(FspiopError):
        admission.enter("POST")
    admission.started(0.0)
    for _ in range(3):
        admission.enter("GET", begins=True)
    with pytest.raises(FspiopError):  # half the limit in flight
        admission.enter("GET", begins=True)
    for _ in range(4):
        admission.enter("POST")
    with pytest.raises(FspiopError):
        admission.enter("POST")
    assert admission.in_flight == 8


@pytest.mark.parametrize("limits", [{"target_delay": 0.0}, {"floor": 5, "limit": 5}, {"floor": -1}])
def test_admission_needs_sane_limits(limits: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="target delay"):
        Admission(**limits)
