// Predict's `{ "features": [ {…}, … ] }` body read straight into one column per field name: no object per row, no
// string per repeated key or category. JSON.parse made a batch's 1,000 row objects (and their keys and values) only
// for validation to copy them into columns; their garbage was the largest share of a batch's CPU
// (bench/serve/README.md). Only the plain shape is read here: flat rows of numbers, strings without escapes and
// nulls, at most `maxRows` of them, each key once per row, no `__proto__` key and only finite numbers. Anything else
// returns undefined and goes through the generic JSON parser and the schema, which answer exactly as before.

/** What a row held for one field. */
export const FieldValue = { Absent: 0, Null: 1, Number: 2, String: 3 } as const;

/** One field name's values across the rows: numbers (NaN elsewhere), strings (null elsewhere) and what each row held. */
export interface ParsedField {
  readonly name: string;
  /** Per row: a FieldValue. */
  readonly kinds: Uint8Array;
  /** Per row: the number, NaN where the row held no number. */
  readonly numbers: Float64Array;
  /** Per row: the string, null where the row held no string; undefined while no row held a string. */
  readonly strings: Array<string | null> | undefined;
  readonly numberCount: number;
  readonly stringCount: number;
}

/** A predict body's feature rows as columns, with its text (which the generic parser reads again for error messages). */
export class ParsedFeatureRows {
  constructor(
    /** The body's text: valid JSON whose `features` are these rows. */
    readonly text: string,
    readonly rowCount: number,
    /** In order of first appearance. */
    readonly fields: readonly ParsedField[],
  ) {}

  /** The rows as JSON.parse makes them (for paths that need row objects: error messages, raw rows). */
  rows(): unknown[] {
    return (JSON.parse(this.text) as { features: unknown[] }).features;
  }
}

/** The parsed body in the shape the route's handler reads (`body.features`). */
export interface FeatureRowsBody {
  features: ParsedFeatureRows;
}

export function isFeatureRowsBody(body: unknown): body is FeatureRowsBody {
  return body !== null && typeof body === 'object' && (body as { features?: unknown }).features instanceof ParsedFeatureRows;
}

const POWERS_OF_TEN = Array.from({ length: 23 }, (_, e) => 10 ** e);
// Up to 15 digits a decimal mantissa is an exact double, and so is 10^e up to e = 22: their product or quotient
// is then correctly rounded, the same double JSON.parse gives. Other numbers go through Number() on their text.
const MAX_FAST_DIGITS = 15;
// A field's distinct strings kept for reuse: low-cardinality categories then cost no string per row.
const MAX_REMEMBERED_STRINGS = 16;

class Field implements ParsedField {
  kinds: Uint8Array;
  numbers: Float64Array;
  strings: Array<string | null> | undefined;
  numberCount = 0;
  stringCount = 0;
  /** The last row that set this field (a second value in one row is a duplicate key). */
  lastRow = -1;
  remembered: string[] = [];

  constructor(
    readonly name: string,
    capacity: number,
  ) {
    this.kinds = new Uint8Array(capacity);
    this.numbers = new Float64Array(capacity).fill(Number.NaN);
  }

  grow(capacity: number): void {
    const kinds = new Uint8Array(capacity);
    kinds.set(this.kinds);
    this.kinds = kinds;
    const numbers = new Float64Array(capacity).fill(Number.NaN);
    numbers.set(this.numbers);
    this.numbers = numbers;
    if (this.strings) for (let i = this.strings.length; i < capacity; i++) this.strings.push(null);
  }

  setString(row: number, value: string): void {
    if (!this.strings) this.strings = new Array<string | null>(this.kinds.length).fill(null);
    this.strings[row] = value;
    this.kinds[row] = FieldValue.String;
    this.stringCount++;
  }

  /** Trimmed to `rowCount` rows. */
  finish(rowCount: number): ParsedField {
    if (this.strings) this.strings.length = rowCount;
    return {
      name: this.name,
      kinds: this.kinds.subarray(0, rowCount),
      numbers: this.numbers.subarray(0, rowCount),
      strings: this.strings,
      numberCount: this.numberCount,
      stringCount: this.stringCount,
    };
  }
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;

// Compact JSON has no whitespace: the hot loop calls this only when the next character could be some.
function skipWhitespace(text: string, at: number): number {
  for (;;) {
    const c = text.charCodeAt(at);
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return at;
    at++;
  }
}

/** End of the string whose opening quote is at `at - 1`, or -1 if it holds an escape or a control character. */
function stringEnd(text: string, at: number): number {
  for (;;) {
    const c = text.charCodeAt(at);
    if (c === QUOTE) return at;
    // NaN (past the end) fails every comparison: the body ended inside the string.
    if (!(c >= 0x20) || c === BACKSLASH) return -1;
    at++;
  }
}

/** Where the parse stands: the position after the last thing read, and the last number read. */
interface Cursor {
  at: number;
  number: number;
}

/** Reads a JSON number at `cursor.at`; false if the text there is not one, or is one that parses to ±Infinity. */
function readNumber(text: string, cursor: Cursor): boolean {
  const start = cursor.at;
  let at = start;
  const negative = text.charCodeAt(at) === MINUS;
  if (negative) at++;
  let mantissa = 0;
  let digits = 0;
  let c = text.charCodeAt(at);
  if (c === ZERO) {
    at++;
    c = text.charCodeAt(at);
    if (c >= ZERO && c <= NINE) return false; // a leading zero
  } else if (c > ZERO && c <= NINE) {
    do {
      mantissa = mantissa * 10 + (c - ZERO);
      digits++;
      c = text.charCodeAt(++at);
    } while (c >= ZERO && c <= NINE);
  } else {
    return false;
  }
  let fractionDigits = 0;
  if (c === DOT) {
    c = text.charCodeAt(++at);
    if (!(c >= ZERO && c <= NINE)) return false;
    do {
      mantissa = mantissa * 10 + (c - ZERO);
      digits++;
      fractionDigits++;
      c = text.charCodeAt(++at);
    } while (c >= ZERO && c <= NINE);
  }
  let exponent = 0;
  let exponentDigits = 0;
  if (c === 0x65 || c === 0x45) {
    c = text.charCodeAt(++at);
    const negativeExponent = c === MINUS;
    if (negativeExponent || c === PLUS) c = text.charCodeAt(++at);
    if (!(c >= ZERO && c <= NINE)) return false;
    do {
      if (exponentDigits < 6) exponent = exponent * 10 + (c - ZERO);
      exponentDigits++;
      c = text.charCodeAt(++at);
    } while (c >= ZERO && c <= NINE);
    if (negativeExponent) exponent = -exponent;
  }
  cursor.at = at;
  const scale = exponent - fractionDigits;
  let value: number;
  if (digits <= MAX_FAST_DIGITS && exponentDigits < 6 && scale >= -22 && scale <= 22) {
    value = scale === 0 ? mantissa : scale > 0 ? mantissa * POWERS_OF_TEN[scale]! : mantissa / POWERS_OF_TEN[-scale]!;
    if (negative) value = -value;
  } else {
    value = Number(text.slice(start, at));
    if (!Number.isFinite(value)) return false;
  }
  cursor.number = value;
  return true;
}

/** `word` at `at`? */
function startsWithAt(text: string, word: string, at: number): boolean {
  return text.startsWith(word, at);
}

/**
 * The body's feature rows as columns, or undefined when the body is not plain `{ "features": [ …rows ] }` with 1 to
 * `maxRows` rows (then the generic parser and the schema decide, with their own messages).
 */
export function parseFeatureRowsBody(text: string, maxRows: number): FeatureRowsBody | undefined {
  let at = skipWhitespace(text, 0);
  if (text.charCodeAt(at) !== OPEN_BRACE) return undefined;
  at = skipWhitespace(text, at + 1);
  if (!startsWithAt(text, '"features"', at)) return undefined;
  at = skipWhitespace(text, at + 10);
  if (text.charCodeAt(at) !== COLON) return undefined;
  at = skipWhitespace(text, at + 1);
  if (text.charCodeAt(at) !== OPEN_BRACKET) return undefined;
  at = skipWhitespace(text, at + 1);
  if (text.charCodeAt(at) === CLOSE_BRACKET) return undefined; // no rows: the schema says so

  const byName = new Map<string, Field>();
  const fields: Field[] = [];
  // The field at each position of the previous row: rows usually repeat their keys in the same order, so a key is
  // compared in place with the expected name instead of being cut out of the text and looked up.
  const expected: Array<Field | undefined> = [];
  // Room for rows of 16 characters or more (a feature row is rarely shorter), up to maxRows: columns rarely grow.
  let capacity = Math.max(1, Math.min(maxRows, Math.ceil(text.length / 16)));
  const cursor: Cursor = { at: 0, number: 0 };
  let row = 0;
  for (;;) {
    if (row === maxRows) return undefined;
    if (row === capacity) {
      capacity = Math.min(capacity * 2, maxRows);
      for (const field of fields) field.grow(capacity);
    }
    if (text.charCodeAt(at) !== OPEN_BRACE) return undefined;
    at = at + 1;
    if (text.charCodeAt(at) <= 0x20) at = skipWhitespace(text, at);
    if (text.charCodeAt(at) === CLOSE_BRACE) {
      at++;
    } else {
      for (let position = 0; ; position++) {
        if (text.charCodeAt(at) !== QUOTE) return undefined;
        const keyStart = at + 1;
        let field = expected[position];
        if (field !== undefined && startsWithAt(text, field.name, keyStart) && text.charCodeAt(keyStart + field.name.length) === QUOTE) {
          at = keyStart + field.name.length + 1;
        } else {
          const keyEnd = stringEnd(text, keyStart);
          if (keyEnd < 0) return undefined;
          const name = text.slice(keyStart, keyEnd);
          // Refused by the generic parser (prototype poisoning), with its message.
          if (name === '__proto__') return undefined;
          field = byName.get(name);
          if (field === undefined) {
            field = new Field(name, capacity);
            byName.set(name, field);
            fields.push(field);
          }
          expected[position] = field;
          at = keyEnd + 1;
        }
        // A key twice in one row: JSON.parse keeps the last; left to it.
        if (field.lastRow === row) return undefined;
        field.lastRow = row;
        if (text.charCodeAt(at) <= 0x20) at = skipWhitespace(text, at);
        if (text.charCodeAt(at) !== COLON) return undefined;
        at = at + 1;
        if (text.charCodeAt(at) <= 0x20) at = skipWhitespace(text, at);
        const c = text.charCodeAt(at);
        if (c === QUOTE) {
          const end = stringEnd(text, at + 1);
          if (end < 0) return undefined;
          const length = end - at - 1;
          let value: string | undefined;
          const remembered = field.remembered;
          for (let r = 0; r < remembered.length; r++) {
            const candidate = remembered[r]!;
            if (candidate.length === length && startsWithAt(text, candidate, at + 1)) {
              value = candidate;
              break;
            }
          }
          if (value === undefined) {
            value = text.slice(at + 1, end);
            if (remembered.length < MAX_REMEMBERED_STRINGS) remembered.push(value);
          }
          field.setString(row, value);
          at = end + 1;
        } else if (c === 0x6e) {
          if (!startsWithAt(text, 'null', at)) return undefined;
          field.kinds[row] = FieldValue.Null;
          at += 4;
        } else if (c === MINUS || (c >= ZERO && c <= NINE)) {
          cursor.at = at;
          if (!readNumber(text, cursor)) return undefined;
          at = cursor.at;
          field.kinds[row] = FieldValue.Number;
          field.numbers[row] = cursor.number;
          field.numberCount++;
        } else {
          // true/false, objects, arrays: the schema refuses them with its own message.
          return undefined;
        }
        if (text.charCodeAt(at) <= 0x20) at = skipWhitespace(text, at);
        const next = text.charCodeAt(at);
        if (next === CLOSE_BRACE) {
          at++;
          break;
        }
        if (next !== COMMA) return undefined;
        at = at + 1;
        if (text.charCodeAt(at) <= 0x20) at = skipWhitespace(text, at);
      }
    }
    row++;
    if (text.charCodeAt(at) <= 0x20) at = skipWhitespace(text, at);
    const next = text.charCodeAt(at);
    if (next === CLOSE_BRACKET) break;
    if (next !== COMMA) return undefined;
    at = at + 1;
    if (text.charCodeAt(at) <= 0x20) at = skipWhitespace(text, at);
  }
  at = skipWhitespace(text, at + 1);
  if (text.charCodeAt(at) !== CLOSE_BRACE) return undefined;
  if (skipWhitespace(text, at + 1) !== text.length) return undefined;
  return {
    features: new ParsedFeatureRows(
      text,
      row,
      fields.map((field) => field.finish(row)),
    ),
  };
}
