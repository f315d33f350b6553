/* log.h - one line per event to stderr.
 * Lines look like `Q3F2A smtp.accepted from=<a@b> size=812`: the queue ID
 * (or "-") first, then the event and key=value pairs, so one message can be
 * followed with grep. Peer-supplied text must go through log_escape. */
#ifndef POSTINO_UTIL_LOG_H
#define POSTINO_UTIL_LOG_H

#include <stddef.h>

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...)                                                                   \
	do {                                                                             \
		if (log_get_level() >= LOG_DEBUG)                                        \
			log_msg(LOG_DEBUG, __VA_ARGS__);                                 \
	} while (0)

/* Copy src into dst (size dstlen, always NUL-terminated) with every byte
 * outside printable ASCII, backslash and '"' written as \xHH. Truncates
 * with "..." when dst is too small. Returns dst. */
char *log_escape(char *dst, size_t dstlen, const char *src, size_t len);

/* A broken invariant: log with the function name and abort. */
void log_panic(const char *func, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));
#define PANIC(...) log_panic(__func__, __VA_ARGS__)

#endif
