/** A header line ("Name: value"); RFC 5322 field names are printable ASCII without colon or space. */
const HEADER_LINE = /^[!-9;-~]+:/;
/** The mbox separator line ("From sender date") that starts every raw SpamAssassin message. */
const MBOX_FROM = /^From /;

/** Collapses every run of whitespace (newlines included) to one space and trims the ends. */
export function collapseWhitespace(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/**
 * Turns a raw RFC 822 message into the text a classifier should see: the Subject, a newline, then
 * the body with whitespace collapsed. All other headers are dropped.
 *
 * Why: the first kilobyte of a raw e-mail is routing headers (Received, Return-Path, Message-Id)
 * that carry the mail server and list names of the corpus, not the content. A byte-level model
 * with a short context would see only those, and it could learn the collection source instead
 * of spam vs ham. The Subject is kept because it is real content.
 *
 * Text that does not start with a header block is returned with whitespace collapsed only.
 * Folded (continued) header lines are unfolded before the Subject is read. MIME parts and
 * encodings are left as they are: a byte model copes with them, and spam HTML is a real signal.
 */
export function emailBody(raw: string): string {
  const lines = raw.replace(/\r\n?/g, '\n').split('\n');
  const first = lines[0] ?? '';
  if (!MBOX_FROM.test(first) && !HEADER_LINE.test(first)) return collapseWhitespace(raw);

  const headers: string[] = [];
  let bodyStart = lines.length; // no blank line: the message is all headers
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line.trim() === '') {
      bodyStart = i + 1;
      break;
    }
    const last = headers.length - 1;
    if (/^[ \t]/.test(line) && last >= 0) headers[last] += ` ${line.trim()}`;
    else headers.push(line);
  }

  const subjectHeader = headers.find((h) => /^subject:/i.test(h));
  const subject = subjectHeader === undefined ? '' : collapseWhitespace(subjectHeader.slice('subject:'.length));
  const body = collapseWhitespace(lines.slice(bodyStart).join('\n'));
  if (subject === '') return body;
  return body === '' ? `Subject: ${subject}` : `Subject: ${subject}\n${body}`;
}
