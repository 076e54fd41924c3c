// The k8s room's door: Kubernetes access through client-node, CRD manifests and the embedded API server. Nothing is exported yet; later issues fill it.
export {};
