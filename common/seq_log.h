/* The logger: one line per event on stderr in logfmt
 * (ts=... level=info module=net msg="..." key=value), or JSON. Per-module
 * levels. The consensus core never calls it (it has no stdio); its traces
 * go through hs_io.trace and the driver logs them. */

#ifndef SEQ_COMMON_SEQ_LOG_H
#define SEQ_COMMON_SEQ_LOG_H

enum seq_log_level {
    SEQ_LOG_DEBUG = 1,
    SEQ_LOG_INFO,
    SEQ_LOG_WARN,
    SEQ_LOG_ERROR,
};

enum seq_log_format {
    SEQ_LOG_LOGFMT = 1,
    SEQ_LOG_JSON,
};

/* Default level for every module, and the output format. */
void seq_log_setup(enum seq_log_level level, enum seq_log_format format);

/* Parse "info" or "consensus=debug,net=warn,info" (a bare level is the
 * default). The per-module levels are replaced, not merged. Call at
 * start-up, before other threads log. Returns 0 or SEQ_EINVAL, leaving the
 * settings unchanged. */
int seq_log_parse_levels(const char *spec);

int seq_log_enabled(const char *module, enum seq_log_level level);

/* @fmt is the message; the message is quoted and escaped as logfmt needs.
 * Extra key=value pairs may follow in @kv (already formatted, may be NULL). */
void seq_log(enum seq_log_level level,
             const char *module,
             const char *kv,
             const char *fmt,
             ...) __attribute__((format(printf, 4, 5)));

#define SEQ_LOGI(mod, ...) seq_log(SEQ_LOG_INFO, (mod), NULL, __VA_ARGS__)
#define SEQ_LOGW(mod, ...) seq_log(SEQ_LOG_WARN, (mod), NULL, __VA_ARGS__)
#define SEQ_LOGE(mod, ...) seq_log(SEQ_LOG_ERROR, (mod), NULL, __VA_ARGS__)
#define SEQ_LOGD(mod, ...) seq_log(SEQ_LOG_DEBUG, (mod), NULL, __VA_ARGS__)

#endif /* SEQ_COMMON_SEQ_LOG_H */
