// The options of one rule's text (`[! ]-x value`, `[! ]--xyz "quoted value"`), scanned by hand.
// This finds what the regex
//
//   /(?<=^|\s)(!\s+)?(--?[a-zA-Z][\w-]*)(?:\s+("(?:[^"\\]|\\.)*"|[^\s"-][^\s"]*))?/g
//
// finds, position for position (test/unit/iptables/rule-options.test.ts runs both on generated
// text): an option starts where the text starts or after whitespace, and a value never starts
// with '-', so a flag (--reap, --set) never swallows the next option. The regex's exec() built a
// match array with three substrings per option, ~1.4 KiB of garbage a signed rule: with the
// sort() copies, signing the 13 changed rules was 40 of the 140 KiB a one-endpoint change
// allocated at 10,000 services.

export interface OptionMatch {
  /** Preceded by `! `. */
  neg: boolean;
  /** The option as written (`-d`, `--comment`). */
  name: string;
  /** Offset of the value (its opening quote, if quoted), or -1 when the option has none. */
  valueStart: number;
  /** Offset just past the value (past its closing quote), or past the name when it has none. */
  end: number;
}

/**
 * The first option that starts at or after `from`, or undefined. `into` is filled and returned
 * (one object reused over a rule's options).
 */
export function nextOption(text: string, from: number, into: OptionMatch): OptionMatch | undefined {
  const n = text.length;
  for (let i = from; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c !== DASH && c !== BANG) continue;
    if (i > 0 && !isSpace(text.charCodeAt(i - 1))) continue;
    let start = i;
    let neg = false;
    if (c === BANG) {
      // `(!\s+)?` and then the option: a '!' without one after it starts nothing.
      let j = i + 1;
      if (j >= n || !isSpace(text.charCodeAt(j))) continue;
      while (j < n && isSpace(text.charCodeAt(j))) j++;
      start = j;
      neg = true;
    }
    const nameEnd = optionNameEnd(text, start);
    if (nameEnd < 0) continue;
    into.neg = neg;
    into.name = text.slice(start, nameEnd);
    into.valueStart = -1;
    into.end = nameEnd;
    let v = nameEnd;
    if (v < n && isSpace(text.charCodeAt(v))) {
      while (v < n && isSpace(text.charCodeAt(v))) v++;
      const valueEnd = valueEndAt(text, v);
      if (valueEnd >= 0) {
        into.valueStart = v;
        into.end = valueEnd;
      }
    }
    return into;
  }
  return undefined;
}

const DASH = 0x2d;
const BANG = 0x21;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** `--?[a-zA-Z][\w-]*` at `at`: the offset past it, or -1. */
function optionNameEnd(text: string, at: number): number {
  if (text.charCodeAt(at) !== DASH) return -1;
  let e: number;
  if (text.charCodeAt(at + 1) === DASH && isLetter(text.charCodeAt(at + 2))) e = at + 3;
  else if (isLetter(text.charCodeAt(at + 1))) e = at + 2;
  else return -1;
  for (let c = text.charCodeAt(e); isWord(c) || c === DASH; c = text.charCodeAt(++e));
  return e;
}

/** `"(?:[^"\\]|\\.)*"` or `[^\s"-][^\s"]*` at `at`: the offset past it, or -1. */
function valueEndAt(text: string, at: number): number {
  const n = text.length;
  if (at >= n) return -1;
  const c = text.charCodeAt(at);
  if (c === QUOTE) {
    for (let x = at + 1; x < n; ) {
      const d = text.charCodeAt(x);
      if (d === QUOTE) return x + 1;
      if (d === BACKSLASH) {
        // `\\.`: '.' is any character but a line terminator.
        if (x + 1 >= n || isLineTerminator(text.charCodeAt(x + 1))) return -1;
        x += 2;
      } else x++;
    }
    return -1;
  }
  if (c === DASH || isSpace(c)) return -1;
  let x = at + 1;
  while (x < n) {
    const d = text.charCodeAt(x);
    if (d === QUOTE || isSpace(d)) break;
    x++;
  }
  return x;
}

function isLetter(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a);
}

/** `\w`: [A-Za-z0-9_]. */
function isWord(c: number): boolean {
  return isLetter(c) || (c >= 0x30 && c <= 0x39) || c === 0x5f;
}

function isLineTerminator(c: number): boolean {
  return c === 0x0a || c === 0x0d || c === 0x2028 || c === 0x2029;
}

/** `\s`: ECMAScript WhiteSpace and LineTerminator (NaN, past the end, is neither). */
function isSpace(c: number): boolean {
  if (c === 0x20 || (c >= 0x09 && c <= 0x0d)) return true;
  if (c < 0xa0) return false;
  return c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff;
}
