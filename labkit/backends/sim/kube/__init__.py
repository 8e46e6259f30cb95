"""The simulator's front door: the Kubernetes REST API over HTTPS, for the real kubectl and client.

    kinds/        one module per served kind: its Kind (discovery, schema, fields, table, watch) and
                  its Strategy (what list, get, create, update and delete do), added to REGISTRY
    registry.py   imports every kind's module: REGISTRY, which everything generic below reads
    server.py     HTTP, the bearer token, routing, Status errors, watch streams
    rest.py       the generic store: each verb's common steps, then the kind's strategy
    resources.py  what every kind's JSON shares (names, uids, timestamps, meta, pod templates)
    columns.py    server-side tables (`kubectl get`); printers.py the helpers the kinds' rows share
    discovery.py  /version, /api, /apis and the resource lists
    openapi.py    the OpenAPI v3 documents; schema.py decodes bodies by them
    watch.py      the change feed and watch streams
    patch.py      JSON, merge and strategic merge patches; label and field selectors
    tls.py        a self-signed certificate for 127.0.0.1
"""
