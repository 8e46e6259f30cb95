"""Self reviews (pkg/registry/authorization, authentication): `kubectl auth can-i`, `can-i --list`, `whoami`.

The simulator's one user is what minikube's is: in the system:masters group, which the API
server's privileged-group authorizer allows everything without a reason
(authorizerfactory.NewPrivilegedGroups), and bound to cluster-admin. So a
SelfSubjectAccessReview answers allowed, and a SelfSubjectRulesReview lists cluster-admin's
rules with those of system:basic-user, system:discovery and system:public-info-viewer, as
RBAC's rule resolver lists them. Neither is stored: a create answers the review with its
status (201); a SelfSubjectReview answers who the user is (minikube's client certificate: user
minikube-user in system:masters). Their protobuf messages are from k8s.io/api authorization/v1 generated.proto at
061200305a7b1c9aac1f8a9756879ea11c913b88.
"""
from __future__ import annotations

import copy
from typing import TYPE_CHECKING

from . import REGISTRY, Kind, Obj, Strategy

if TYPE_CHECKING:
    from ..rest import Storage

META = ("metadata", "ObjectMeta")
MESSAGES = {
    "SelfSubjectAccessReview": {1: META, 2: ("spec", "SelfSubjectAccessReviewSpec"), 3: ("status", "Unread")},
    "SelfSubjectAccessReviewSpec": {1: ("resourceAttributes", "ResourceAttributes"),
                                    2: ("nonResourceAttributes", "NonResourceAttributes")},
    "ResourceAttributes": {1: ("namespace", "string"), 2: ("verb", "string"), 3: ("group", "string"),
                           4: ("version", "string"), 5: ("resource", "string"), 6: ("subresource", "string"),
                           7: ("name", "string")},
    "NonResourceAttributes": {1: ("path", "string"), 2: ("verb", "string")},
    "SelfSubjectRulesReview": {1: META, 2: ("spec", "SelfSubjectRulesReviewSpec"), 3: ("status", "Unread")},
    "SelfSubjectRulesReviewSpec": {1: ("namespace", "string")},
    "SelfSubjectReview": {1: META, 2: ("status", "Unread")},  # authentication/v1 generated.proto
}

DISCOVERY = ["/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi", "/openapi/*", "/readyz",
             "/version", "/version/"]
RULES = {"resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]},
                           {"verbs": ["create"], "apiGroups": ["authorization.k8s.io"],
                            "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"]},
                           {"verbs": ["create"], "apiGroups": ["authentication.k8s.io"],
                            "resources": ["selfsubjectreviews"]}],
         "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]},
                              {"verbs": ["get"], "nonResourceURLs": DISCOVERY}],
         "incomplete": False}


def answered(status: Obj):
    """A review's create: the review as sent, with the server's status (nothing stored)."""
    def create(store: Storage, namespace: str | None, body: Obj, dry_run: bool) -> Obj:
        out = copy.deepcopy(body)
        out["metadata"] = {"creationTimestamp": None, **(out.get("metadata") or {})}
        out["status"] = copy.deepcopy(status)
        return out
    return create


def nothing(store: Storage, namespace: str | None) -> list[Obj]:
    return []


def review(plural: str, kind: str, status: Obj, group: str = "authorization") -> Kind:
    return Kind(group=f"{group}.k8s.io", version="v1", plural=plural, kind=kind, namespaced=False,
                verbs=("create",), schema=f"io.k8s.api.{group}.v1.{kind}", protobuf=kind,
                messages={name: MESSAGES[name] for name in MESSAGES if name.startswith(kind)} |
                ({name: MESSAGES[name] for name in ("ResourceAttributes", "NonResourceAttributes")}
                 if kind == "SelfSubjectAccessReview" else {}),
                strategy=Strategy(objects=nothing, create=answered(status)))


ACCESS_REVIEW = REGISTRY.add(review("selfsubjectaccessreviews", "SelfSubjectAccessReview", {"allowed": True}))
RULES_REVIEW = REGISTRY.add(review("selfsubjectrulesreviews", "SelfSubjectRulesReview", RULES))
WHO_AM_I = REGISTRY.add(review("selfsubjectreviews", "SelfSubjectReview", {"userInfo": {
    "username": "minikube-user", "groups": ["system:masters", "system:authenticated"]}}, group="authentication"))
