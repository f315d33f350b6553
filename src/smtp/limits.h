/* limits.h - every protocol bound of the SMTP core, in one place, with its source. */
#ifndef POSTINO_SMTP_LIMITS_H
#define POSTINO_SMTP_LIMITS_H

/* RFC 5321 4.5.3.1.4: a command line is at most 512 octets, CRLF included. */
#define SMTP_CMD_LINE_MAX 512
/* RFC 3461 5 (and RFC 1869 4.1.2): MAIL and RCPT with extension parameters. */
#define SMTP_MAILRCPT_LINE_MAX 2048
/* RFC 4954 4: AUTH lines and SASL responses. */
#define SMTP_AUTH_LINE_MAX 12288
/* RFC 5322 has none; SPEC.md: a header section over 1 MiB or 10,000 lines is refused. */
#define SMTP_HEADER_BYTES_MAX (1024u * 1024u)
#define SMTP_HEADER_LINES_MAX 10000u
/* Replies waiting to be sent before the core stops reading pipelined input. */
#define SMTP_OUTPUT_HIGH 16384
/* Decoded content handed to the sink at a time. */
#define SMTP_DATA_CHUNK 16384
/* Digits of a BDAT chunk size (RFC 3030 2: 1*DIGIT; 20 covers 2^64). */
#define SMTP_BDAT_DIGITS_MAX 20
/* domains in one ATRN command (a 512-octet line holds about 100) */
#define SMTP_ATRN_DOMAINS_MAX 64

#endif
