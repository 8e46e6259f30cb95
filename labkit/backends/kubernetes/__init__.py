"""The backend on a real Kubernetes cluster (or the simulator served as one), through the
official client.

    backend.py    KubernetesBackend: every request goes through one place
    manifests.py  the Deployment and Service labkit sends
    state.py      the API's objects as labkit's snapshot
    context.py    kubeconfig contexts, and which are local enough to practise on
    minikube.py   the `labkit` minikube profile: start, load the demo images, delete
"""
