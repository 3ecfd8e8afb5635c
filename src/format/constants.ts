/** Every number and name of format v1 that docs/FORMAT.md defines. Change them only with a new version. */
export const FORMAT_VERSION = 1;
/**
 * Bundles are at version 2: table records carry their scope and changes to shared tables the
 * digest of the row they were based on. Acks, rotation notices and identity cards are unchanged
 * (version 1). A reader still takes version 1 bundles, written before scopes existed: their
 * tables are facility-owned.
 */
export const BUNDLE_FORMAT_VERSION = 2;
/**
 * Version 3 adds a table record's `references` (the source's foreign keys) and bundles a hub
 * sends to a facility. A facility writes version 3 only when a table record carries references,
 * so a hub of the previous release still reads the rest.
 */
export const BUNDLE_FORMAT_VERSION_REFERENCES = 3;
export const BUNDLE_VERSIONS_READ: readonly number[] = [1, 2, 3];

export const BUNDLE_FORMAT = 'ferry-bundle';
export const ACK_FORMAT = 'ferry-ack';
/** A facility's acknowledgement of a hub's bundle: an ack document signed by the facility. */
export const RECEIPT_FORMAT = 'ferry-receipt';
export const IDENTITY_FORMAT = 'ferry-identity';
export const ROTATION_FORMAT = 'ferry-rotation';
export const REQUEST_FORMAT = 'ferry-request';

/** Zip entry names: a reader accepts exactly these and nothing else. */
export const BUNDLE_ENTRIES = { manifest: 'manifest.json', signature: 'manifest.sig', payload: 'payload.bin' } as const;
export const ACK_ENTRIES = { body: 'ack.json', signature: 'ack.sig' } as const;
export const ROTATION_ENTRIES = { body: 'rotation.json', oldSignature: 'old-key.sig', newSignature: 'new-key.sig' } as const;
export const REQUEST_ENTRIES = { body: 'request.json', signature: 'request.sig' } as const;

/** Domain-separation prefixes: a signature over one kind of document never verifies as another. */
export const MANIFEST_SIGNING_PREFIX = 'ferry/v1/bundle-manifest\n';
export const ACK_SIGNING_PREFIX = 'ferry/v1/ack\n';
export const RECEIPT_SIGNING_PREFIX = 'ferry/v1/receipt\n';
export const ROTATION_SIGNING_PREFIX = 'ferry/v1/key-rotation\n';
export const REQUEST_SIGNING_PREFIX = 'ferry/v1/request\n';
export const REQUEST_KEY_LABEL = 'ferry/v1/request-key';
export const PAYLOAD_KEY_LABEL = 'ferry/v1/payload-key';

/** Plaintext bytes per sealed chunk; every chunk but the last is exactly this long. */
export const CHUNK_SIZE = 65536;
export const SECRETBOX_OVERHEAD = 16;
export const SEALED_CHUNK_SIZE = CHUNK_SIZE + SECRETBOX_OVERHEAD;

/** Bounds checked before anything is read into memory. */
export const MAX_MANIFEST_BYTES = 64 * 1024;
export const MAX_ACK_BYTES = 64 * 1024;
export const SIGNATURE_BYTES = 64;
/** FAT32 cannot hold a file of 4 GiB; keep well below it. */
export const MAX_PAYLOAD_BYTES = 4 * 1024 ** 3 - 64 * 1024 * 1024;
/**
 * Limits of format v1 (docs/FORMAT.md "Limits"). A reader checks each before doing the work it
 * bounds, and refuses with `limit-exceeded`; ferry's writer never writes a bundle over them.
 */
/** One record (a JSON line, without its newline): bounds the reader's line buffer and one value (a 16 MiB BLOB travels). */
export const MAX_RECORD_BYTES = 64 * 1024 * 1024;
/** The uncompressed change stream, absolutely… */
export const MAX_STREAM_BYTES = 8 * 1024 ** 3;
/** …and relative to the compressed stream (payload.plaintext_bytes), with a floor so that small bundles are never cramped. */
export const MAX_STREAM_RATIO = 100;
export const MIN_STREAM_ALLOWANCE = 64 * 1024 * 1024;
/** The most stream_bytes a bundle whose compressed stream is `compressedBytes` long may declare. */
export const maxStreamBytes = (compressedBytes: number): number => Math.min(MAX_STREAM_BYTES, Math.max(MIN_STREAM_ALLOWANCE, MAX_STREAM_RATIO * compressedBytes));
export const MAX_CHANGES = 2 ** 26;
export const MAX_TABLES = 500;
export const MAX_COLUMNS_PER_TABLE = 1000;
export const MAX_COLUMNS_TOTAL = 10_000;
export const MAX_KEY_COLUMNS = 32;
/** Nesting of arrays and objects in one record; ferry's records nest 3 deep (record, row, tagged value). */
export const MAX_JSON_DEPTH = 4;
/**
 * Commas outside strings in one record, counted with the depth before JSON.parse: a record within
 * the column limits holds about 2,050, so this bounds what parsing allocates to the line's size.
 */
export const MAX_RECORD_COMMAS = 4096;

/** Fixed zip entry time (2000-01-01 00:00, written as UTC by archiver): entry times carry no meaning, and bundles stay reproducible. */
export const ZIP_ENTRY_DATE = (): Date => new Date(Date.UTC(2000, 0, 1, 0, 0, 0));

export const BUNDLE_EXTENSION = '.ferry-bundle';
export const ACK_EXTENSION = '.ferry-ack';
export const RECEIPT_EXTENSION = '.ferry-receipt';
export const ROTATION_EXTENSION = '.ferry-rotation';
export const MAX_ROTATION_BYTES = 16 * 1024;
export const REQUEST_EXTENSION = '.ferry-request';
export const MAX_REQUEST_BYTES = 16 * 1024;
