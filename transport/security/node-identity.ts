// Who is on the other end of a TLS socket: the node a verified client certificate names. Both the
// stream server and certificate renewal ask this one function, so they cannot disagree on identity.
import type { TLSSocket } from 'node:tls';
import { type Result, err, ok } from '../../kernel/index.js';
import { x509 } from '../../k8s/index.js';
import { NODE_COMMON_NAME_PREFIX, NODE_ORGANIZATION, isNodeName } from './node-certificate.signer.js';

/** Why a peer has no node identity. `message` is meant for the peer and for the log. */
export type IdentityRefusal =
  | { readonly kind: 'ClientCertificateMissing'; readonly message: string }
  | { readonly kind: 'ClientCertificateUntrusted'; readonly message: string }
  | { readonly kind: 'NotANodeCertificate'; readonly message: string };

/** A node identity proven by a certificate the cluster CA signed. */
export interface NodeIdentity {
  readonly nodeName: string;
  /** The certificate's end, so a host can tell an edge to rotate or drop it when it lapses. */
  readonly notAfterMs: number;
}

/**
 * Reads the node name from the socket's client certificate: the certificate must have been
 * verified against the CA the server trusts (`socket.authorized`), carry exactly one CN of the form
 * `system:node:<name>` with a valid node name, and the organization `system:nodes`. Other
 * certificates from the same CA (an admin's kubeconfig, the API server's own) name no node.
 */
export function nodeIdentityOf(socket: TLSSocket): Result<NodeIdentity, IdentityRefusal> {
  const peer = socket.getPeerCertificate();
  // Node returns an empty object when the client sent no certificate.
  if (peer === null || typeof peer !== 'object' || peer.raw === undefined) {
    return err({ kind: 'ClientCertificateMissing', message: 'no client certificate: present the node certificate from the join' });
  }
  if (!socket.authorized) {
    const why = socket.authorizationError === undefined ? 'not verified' : String(socket.authorizationError);
    return err({ kind: 'ClientCertificateUntrusted', message: `client certificate not accepted by this cluster's CA (${why})` });
  }
  const certificate = new x509.X509Certificate(peer.raw);
  const commonNames = certificate.subjectName.getField('CN');
  const organizations = certificate.subjectName.getField('O');
  const [commonName] = commonNames;
  if (commonNames.length !== 1 || commonName === undefined || !commonName.startsWith(NODE_COMMON_NAME_PREFIX)) {
    return err({ kind: 'NotANodeCertificate', message: `client certificate CN is not ${NODE_COMMON_NAME_PREFIX}<nodeName>` });
  }
  const nodeName = commonName.slice(NODE_COMMON_NAME_PREFIX.length);
  if (!isNodeName(nodeName)) {
    return err({ kind: 'NotANodeCertificate', message: 'client certificate CN names an invalid node name' });
  }
  if (!organizations.includes(NODE_ORGANIZATION)) {
    return err({ kind: 'NotANodeCertificate', message: `client certificate lacks O=${NODE_ORGANIZATION}` });
  }
  return ok({ nodeName, notAfterMs: certificate.notAfter.getTime() });
}
