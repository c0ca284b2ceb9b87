"""The simulator's own HTTP surface, as the demo and an operator use it."""

from __future__ import annotations

import httpx

from tests.fixtures.netypareo import ServedNetYpareo


def test_the_wsdl_is_served_at_both_addresses_and_points_back_at_the_server(
    netypareo: ServedNetYpareo,
) -> None:
    for url in (f"{netypareo.url}/ws?wsdl", f"{netypareo.url}/ws?WSDL", f"{netypareo.url}/ws.wsdl"):
        answer = httpx.get(url)
        assert answer.status_code == 200
        assert f'location="{netypareo.url}/ws"' in answer.text
    assert httpx.get(f"{netypareo.url}/ws").status_code == 400


def test_faults_are_set_and_read_at_runtime_over_http(netypareo: ServedNetYpareo) -> None:
    answer = httpx.post(f"{netypareo.url}/_sim/faults", json={"fail_next": 2, "delay": 0.01})
    assert answer.json()["fail_next"] == 2
    assert netypareo.simulator.faults.delay == 0.01
    envelope = (
        '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>'
        '<n:getSites xmlns:n="urn:farm:netypareo-simulator"/></s:Body></s:Envelope>'
    )
    statuses = [httpx.post(f"{netypareo.url}/ws", content=envelope).status_code for _ in range(3)]
    assert statuses == [502, 502, 200]
    stats = httpx.get(f"{netypareo.url}/_sim/stats").json()
    assert stats == {"calls": {"getSites": 1}, "faults": {"502": 2}}
    refused = httpx.post(f"{netypareo.url}/_sim/faults", json={"explode": True})
    assert refused.status_code == 400
    assert "unknown fault 'explode'" in refused.text


def test_entities_in_the_request_are_not_expanded(netypareo: ServedNetYpareo) -> None:
    envelope = (
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>'
        '<n:getGroupes xmlns:n="urn:farm:netypareo-simulator"><n:codeSite>&e;</n:codeSite>'
        "</n:getGroupes></s:Body></s:Envelope>"
    )
    answer = httpx.post(f"{netypareo.url}/ws", content=envelope)
    assert answer.status_code == 500
    assert "root:" not in answer.text
