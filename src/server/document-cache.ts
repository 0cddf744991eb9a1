import type { DocumentNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { LRUCache } from 'lru-cache';

/**
 * What a parsed document costs per token, measured (graphql-js 16, Node 20/22): each token
 * is kept (the AST's `loc` links them all), with its node and name: ~480 bytes. Rounded up.
 */
const BYTES_PER_TOKEN = 512;
/** What a cached error costs beyond its text. */
const BYTES_PER_ERROR = 1024;

/** Entries per cache: yoga's own default, now a second bound beside the bytes. */
const MAX_ENTRIES = 1024;

/**
 * Yoga's parser cache (documents and parse errors by query text), bounded by what its
 * entries cost as well as by count. Yoga's default keeps 1,024 of each for an hour,
 * whatever their size: 1,600 distinct ~900 KB queries from a READ token pinned 900 MB of
 * heap. Here each entry is charged its text (two bytes a character: V8 may store it so)
 * and, for a document, its tokens; the least recently used go once `maxBytes` is reached.
 * A document that fails validation is dropped from the cache (`useDropInvalidDocuments`):
 * its errors would stay attached to it (yoga keeps validation results per document) and
 * a stream of wrong documents would push out the operations clients actually repeat.
 */
export class DocumentCaches {
  readonly documents: LRUCache<string, DocumentNode>;
  readonly errors: LRUCache<string, object>;

  constructor(maxBytes: number) {
    this.documents = new LRUCache<string, DocumentNode>({
      max: MAX_ENTRIES,
      maxSize: maxBytes,
      sizeCalculation: (document, text) => documentBytes(text, document),
    });
    // Parse errors are a quarter of the budget: they are only worth caching against a client that repeats itself.
    this.errors = new LRUCache<string, object>({
      max: MAX_ENTRIES,
      maxSize: Math.max(1, Math.floor(maxBytes / 4)),
      sizeCalculation: (_error, text) => text.length * 2 + BYTES_PER_ERROR,
    });
  }

  /** The bytes charged to both caches now (for tests and metrics). */
  get bytes(): number {
    return this.documents.calculatedSize + this.errors.calculatedSize;
  }

  /** Forgets a document whose validation failed (see above). */
  useDropInvalidDocuments(): Plugin {
    return {
      onValidate:
        ({ params }) =>
        ({ valid }) => {
          const text = params.documentAST.loc?.source.body;
          if (!valid && text !== undefined) this.documents.delete(text);
        },
    };
  }
}

/**
 * The estimated bytes a parsed document holds: its text and its tokens (counted along the
 * token list the AST keeps; without locations, every character is taken for a token).
 * lru-cache needs a positive integer.
 */
export function documentBytes(text: string, document: DocumentNode): number {
  const first = document.loc?.startToken;
  let tokens = first === undefined ? text.length : 0;
  for (let token: typeof first | null = first; token != null; token = token.next) tokens += 1;
  return Math.max(1, text.length * 2 + tokens * BYTES_PER_TOKEN);
}
