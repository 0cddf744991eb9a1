"""Performs one Consul operation with Debian's python3-consul, for comparing the request it sends.

Usage: python3 python-shapes.py <port> <token> <operation>. Prints {"ok": true} or {"ok": false, "error": ...}:
the request is what matters (a recording proxy in front keeps it), not whether the server took it.
"""
import json
import sys

import consul

port, token, operation = int(sys.argv[1]), sys.argv[2], sys.argv[3]
client = consul.Consul(host="127.0.0.1", port=port, token=token)
Check = consul.Check

CONFIG_KEY = "switchboard/config/shape/value"


def run():
    if operation == "register-http":
        client.agent.service.register(
            "shape", service_id="shape-1", address="127.0.0.1", port=8001, tags=["v1"],
            check=Check.http("http://127.0.0.1:8001/health", "10s", timeout="1s", deregister="5m"))
    elif operation == "register-tcp":
        client.agent.service.register(
            "shape", service_id="shape-1", address="127.0.0.1", port=8001, tags=["v1"],
            check=Check.tcp("127.0.0.1", 8001, "10s", timeout="1s"))
    elif operation == "register-ttl":
        client.agent.service.register("shape", service_id="shape-1", address="127.0.0.1", port=8001, tags=["v1"], check=Check.ttl("30s"))
    elif operation == "register-script":
        client.agent.service.register(
            "shape", service_id="shape-1", address="127.0.0.1", port=8001, tags=["v1"], check=Check.script("/bin/true -x", "30s"))
    elif operation == "check-register":
        client.agent.check.register("extra", check=Check.http("http://127.0.0.1:8001/extra", "15s"), check_id="extra-1", service_id="shape-1")
    elif operation == "check-pass":
        client.agent.check.ttl_pass("service:shape-1")
    elif operation == "deregister":
        client.agent.service.deregister("shape-1")
    elif operation == "health-service":
        client.health.service("shape", passing=True, tag="v1")
    elif operation == "health-service-blocking":
        client.health.service("shape", index=1, wait="1s")
    elif operation == "kv-put":
        client.kv.put(CONFIG_KEY, '{"a":1}')
    elif operation == "kv-put-cas":
        client.kv.put("switchboard/components/shape-step_401_2E0_2E0", "{}", cas=0)
    elif operation == "kv-get":
        client.kv.get(CONFIG_KEY)
    elif operation == "kv-get-blocking":
        client.kv.get(CONFIG_KEY, index=1, wait="1s")
    elif operation == "kv-list":
        client.kv.get("switchboard/components/", recurse=True)
    elif operation == "catalog-services-blocking":
        client.catalog.services(index=1, wait="1s")
    elif operation == "status-leader":
        client.status.leader()
    else:
        raise SystemExit("unknown operation " + operation)


try:
    run()
    print(json.dumps({"ok": True}))
except Exception as error:  # the server's answer does not matter here, only the request
    print(json.dumps({"ok": False, "error": repr(error)}))
