"""The simulator's front door: the Kubernetes REST API over HTTPS, for the real kubectl and client.

    server.py     HTTP, the bearer token, routing, Status errors, watch streams
    rest.py       what each verb does to each resource, through the simulator's backend
    resources.py  simulator records as the API's JSON objects
    columns.py    the columns of server-side tables (`kubectl get`), as the real printers make them
    discovery.py  /version, /api, /apis and the resource lists
    patch.py      JSON, merge and strategic merge patches; label and field selectors
    tls.py        a self-signed certificate for 127.0.0.1
"""
