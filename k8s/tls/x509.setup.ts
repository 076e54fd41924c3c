// The room's only entry to @peculiar/x509: loads the Reflect polyfill it needs first, then points it
// at Node's WebCrypto, because Node's own crypto can parse certificates but cannot issue them.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto);

export { x509 };
