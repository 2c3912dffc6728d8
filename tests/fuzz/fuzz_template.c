/*
 * fuzz_template.c - libFuzzer harness for the template loader, and for
 * turning typed text into answers with whatever template loads.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "template.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fld_template *t = NULL;
    size_t i;

    if (fld_template_parse(data, size, &t, NULL) != FLD_OK)
        return 0;
    for (i = 0; i < fld_template_n_questions(t); i++) {
        const struct fld_question *q = fld_template_question_at(t, i);
        struct fld_json *v = NULL;
        char *text;

        /* feed the question's own label as typed input */
        if (fld_template_answer(q, q->label.vi, &v, NULL) == FLD_OK &&
            v != NULL) {
            if (fld_template_check_value(q, v, NULL) != FLD_OK)
                abort();
            text = fld_template_format(q, v, FLD_LANG_EN);
            free(text);
        }
        fld_json_free(v);
    }
    fld_template_free(t);
    return 0;
}
