import type { Tokenizer } from './tokenizer';

/** The serialised form written next to a checkpoint (`tokenizer.json`). */
export interface ByteTokenizerJson {
  /** Always 'byte-level': ids 0..255 are the UTF-8 bytes themselves. */
  type: 'byte-level';
  /** 256 byte ids plus the special tokens. */
  vocabSize: number;
  /** Id of the padding token. */
  padId: number;
  /** Id of the end-of-sequence token. */
  eosId: number;
  /** Special tokens by name, for readers that do not know this format. */
  specialTokens: Record<string, number>;
}

const BYTE_COUNT = 256;

/** Text from ids one at a time (see {@link ByteTokenizer.streamDecoder}). */
export interface ByteStreamDecoder {
  /** The text this id completes; '' when it completes none. */
  push(id: number): string;
  /** The text an unfinished trailing character leaves (U+FFFD), or ''. Call once, at the end. */
  end(): string;
}

/**
 * Byte-level tokenizer: every UTF-8 byte is a token, plus two special ids (pad, eos).
 *
 * Why bytes and not BPE: the issue forbids a hand-written BPE, and bytes need no vocabulary file,
 * never produce an unknown token and round-trip any text exactly. The price is ~4x longer
 * sequences than GPT-2 BPE on English, which is acceptable for a tiny base model.
 */
export class ByteTokenizer implements Tokenizer {
  readonly vocabSize = BYTE_COUNT + 2;
  readonly padId = BYTE_COUNT;
  readonly eosId = BYTE_COUNT + 1;

  // One encoder/decoder per instance: both are stateless here, and constructing them per call
  // shows up when tokenizing thousands of e-mails.
  private readonly encoder = new TextEncoder();
  // fatal: false turns a sequence cut mid-character (truncation, sampling) into U+FFFD instead of
  // throwing, so decoding model output never fails.
  private readonly decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

  /** UTF-8 bytes of `text` as ids 0..255; no special token is added. */
  encode(text: string): number[] {
    return Array.from(this.encoder.encode(text));
  }

  /** Same as {@link encode} but as a compact byte array, for callers that pack large corpora. */
  encodeBytes(text: string): Uint8Array {
    return this.encoder.encode(text);
  }

  /**
   * Ids back to text. Pad and eos are skipped; a multi-byte character cut by truncation decodes
   * to U+FFFD rather than throwing.
   *
   * @throws RangeError for an id outside [0, vocabSize), which means the caller mixed up vocabularies.
   */
  decode(ids: ArrayLike<number>): string {
    const bytes = new Uint8Array(ids.length);
    let n = 0;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i] as number;
      this.checkId(id, i);
      if (id < BYTE_COUNT) bytes[n++] = id;
    }
    return this.decoder.decode(bytes.subarray(0, n));
  }

  /**
   * A decoder for ids that arrive one at a time (streamed generation): `push` returns the text
   * that id completes ('' for pad, eos, or a byte inside a multi-byte character, whose character
   * comes with its last byte), `end` whatever an unfinished character leaves (U+FFFD). The pieces
   * joined are exactly {@link decode} of all the ids.
   */
  streamDecoder(): ByteStreamDecoder {
    // Its own decoder: a streaming TextDecoder keeps the bytes of an unfinished character.
    const decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
    const one = new Uint8Array(1);
    let position = 0;
    return {
      push: (id: number): string => {
        this.checkId(id, position++);
        if (id >= BYTE_COUNT) return '';
        one[0] = id;
        return decoder.decode(one, { stream: true });
      },
      end: (): string => decoder.decode(),
    };
  }

  private checkId(id: number, position: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
      throw new RangeError(
        `token id ${id} at position ${position} is outside the byte-level vocabulary [0, ${this.vocabSize}); ` +
          'decode only ids produced by this tokenizer or by a model with the same vocab size',
      );
    }
  }

  /** The description saved as `tokenizer.json` next to a checkpoint. */
  toJSON(): ByteTokenizerJson {
    return {
      type: 'byte-level',
      vocabSize: this.vocabSize,
      padId: this.padId,
      eosId: this.eosId,
      specialTokens: { '<pad>': this.padId, '<eos>': this.eosId },
    };
  }

  /**
   * Checks that a saved `tokenizer.json` describes this byte-level layout and returns a tokenizer.
   *
   * @throws Error naming the mismatching field, e.g. when a checkpoint was trained with another tokenizer.
   */
  static fromJSON(json: unknown): ByteTokenizer {
    const tok = new ByteTokenizer();
    if (typeof json !== 'object' || json === null) {
      throw new Error('tokenizer.json must be an object like {"type":"byte-level","vocabSize":258,...}');
    }
    const record = json as Record<string, unknown>;
    const expected = tok.toJSON();
    for (const key of ['type', 'vocabSize', 'padId', 'eosId'] as const) {
      if (record[key] !== expected[key]) {
        throw new Error(
          `tokenizer.json field "${key}" is ${JSON.stringify(record[key])}, expected ${JSON.stringify(expected[key])}: ` +
            'this checkpoint was not trained with the byte-level tokenizer',
        );
      }
    }
    return tok;
  }
}
