/*
 * edit.h - turning what a person typed (NAME=VALUE) into a record's new
 * answers, checked against the template.
 *
 *   name=value                 a question or parameter outside repeats
 *   name=                      clear it
 *   group[+].name=value        a field of a new item of repeat group
 *   group[+2].name=value       several new items in one call: each +label
 *                              is one new item
 *   group[ID].name=value       a field of an existing item (ID or a unique
 *                              prefix of at least 4 digits)
 *   group[ID]=                 delete the item
 *   group[NEWID].name=value    a new item with this id (16 hex digits)
 *
 * Values are typed and normalised (template.h); calculated questions and
 * notes cannot be set. After all assignments of one call are applied, each
 * assigned answer must be relevant and satisfy its constraint, with the
 * other new answers as context, or the whole edit is refused.
 */
#ifndef FLD_EDIT_H
#define FLD_EDIT_H

#include "err.h"
#include "json.h"
#include "template.h"

struct fld_edit;

/* Start editing a copy of answers (NULL: none yet). */
struct fld_edit *fld_edit_new(const struct fld_template *t,
                              const struct fld_json *answers);
void fld_edit_free(struct fld_edit *e);

/* Apply one NAME=VALUE. FLD_EUSAGE for a malformed assignment,
 * FLD_NOTFOUND for an unknown question or item, FLD_EINVAL for a value
 * refused. Nothing is applied on failure. */
int fld_edit_assign(struct fld_edit *e, const char *assignment,
                    struct fld_err *err);

/* Check relevance and constraints of everything assigned (see above). */
int fld_edit_check(struct fld_edit *e, const char *today, enum fld_lang lang,
                   struct fld_err *err);

/* The edited answers, borrowed from e. */
const struct fld_json *fld_edit_answers(const struct fld_edit *e);

/*
 * The whole edit at once: the n assignments applied to a copy of answers
 * (NULL: none yet), then checked as of today in lang. On success *out is
 * the new answers (caller frees); NULL and nothing else on failure.
 * Touches nothing shared: any thread may call it.
 */
int fld_edit_apply(const struct fld_template *t, const struct fld_json *answers,
                   size_t n, char *const *assignments, const char *today,
                   enum fld_lang lang, struct fld_json **out,
                   struct fld_err *err);

/* A new repeat item id: 16 random lowercase hex digits. */
void fld_item_id_new(char out[17]);

#endif
