/*
 * Fuzz target for mta/milter_args: the input, cut at its first NUL, is
 * handed as the ESMTP arguments of a milter's SMFIR_CHGFROM and of its
 * SMFIR_ADDRCPT_PAR, with a full-size and a tiny ORCPT buffer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../../mta/milter_args.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *args = malloc(size + 1);
	if (args == NULL)
		return 0;
	memcpy(args, data, size);
	args[size] = '\0';
	struct smtp_mail m;
	memset(&m, 0, sizeof(m));
	(void)milter_args_mail("FUZZ", args, &m);
	unsigned notify = 0;
	char orcpt[SMTP_ORCPT_MAX + 1] = "", small[4] = "";
	(void)milter_args_rcpt("FUZZ", args, &notify, orcpt, sizeof(orcpt));
	(void)milter_args_rcpt("FUZZ", args, &notify, small, sizeof(small));
	free(args);
	return 0;
}
