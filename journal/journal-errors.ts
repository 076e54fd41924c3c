// Why a file could not be opened as a journal: typed, so the CLI and hosts can say it precisely.

export type JournalOpenError =
  | { readonly kind: 'JournalMissing'; readonly path: string }
  | { readonly kind: 'NotADatabase'; readonly path: string; readonly detail: string }
  | { readonly kind: 'ForeignDatabase'; readonly path: string; readonly detail: string }
  | { readonly kind: 'JournalCorrupt'; readonly path: string; readonly detail: string }
  | { readonly kind: 'UnsupportedSchema'; readonly path: string; readonly found: number; readonly supported: number }
  | { readonly kind: 'WalUnavailable'; readonly path: string; readonly mode: string };

/** One sentence a person can act on. */
export function describeJournalOpenError(error: JournalOpenError): string {
  switch (error.kind) {
    case 'JournalMissing':
      return `journal ${error.path} does not exist`;
    case 'NotADatabase':
      return `${error.path} is not an edgehive journal: not an SQLite database (${error.detail})`;
    case 'ForeignDatabase':
      return `${error.path} is not an edgehive journal: ${error.detail}`;
    case 'JournalCorrupt':
      return `journal ${error.path} is corrupt: ${error.detail}`;
    case 'UnsupportedSchema':
      return `journal ${error.path} has schema version ${error.found}; this edgehive reads up to ${error.supported}`;
    case 'WalUnavailable':
      return `journal ${error.path} could not switch to WAL mode (got '${error.mode}'); acknowledgements need WAL with synchronous=FULL`;
  }
}
