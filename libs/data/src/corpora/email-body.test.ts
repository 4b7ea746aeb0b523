import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { emailBody } from './email-body';

const RAW = [
  'From someone@example.com  Thu Aug 22 12:36:23 2002',
  'Return-Path: <list-admin@example.org>',
  'Received: from mx1.example.org (mx1.example.org [10.0.0.1]) by',
  '    relay.example.org (Postfix) with ESMTP id D03E543C36',
  'Subject: Cheap   watches,',
  '\tbest prices',
  'Message-Id: <123@example.org>',
  '',
  'Hello   friend,',
  '',
  '  Buy now!\tLimited offer.  ',
  '',
].join('\r\n');

describe('when cleaning a raw e-mail', () => {
  it('should keep only the unfolded Subject and the body, with whitespace collapsed', () => {
    assert.equal(emailBody(RAW), 'Subject: Cheap watches, best prices\nHello friend, Buy now! Limited offer.');
  });

  it('should drop routing headers entirely', () => {
    const text = emailBody(RAW);
    for (const gone of ['Received', 'Return-Path', 'Message-Id', 'example.org', 'relay']) {
      assert.ok(!text.includes(gone), `"${gone}" should be stripped`);
    }
  });

  it('should return the body alone when there is no Subject', () => {
    assert.equal(emailBody('To: a@b.c\nFrom: d@e.f\n\nJust the body.\n'), 'Just the body.');
  });

  it('should leave text without a header block as it is, whitespace collapsed', () => {
    assert.equal(emailBody('Dear  user:\nnot a header line\n'), 'Dear user: not a header line');
    assert.equal(emailBody('plain   text'), 'plain text');
  });

  it('should return only the subject when the message has no body', () => {
    assert.equal(emailBody('Subject: hi there\nTo: x@y.z'), 'Subject: hi there');
  });
});
