/*
 * Unit tests for mta/milter_args (the ESMTP arguments of a milter's
 * SMFIR_CHGFROM and SMFIR_ADDRCPT_PAR) and for DMARC's pct= helpers
 * (mta/dmarc: the value's range and RFC 7489 §6.6.4's next-lower policy).
 */
#include <string.h>

#include "../../../mta/dmarc.h"
#include "../../../mta/milter_args.h"
#include "test.h"

static void test_mail(void)
{
	test_begin("mail");
	struct smtp_mail m;
	memset(&m, 0, sizeof(m));
	/* kept: RET, ENVID, BODY; ignored: SIZE, AUTH, unknown */
	size_t k = milter_args_mail(
	    "Q1",
	    "  RET=HDRS ENVID=abc+2Bdef BODY=8BITMIME SIZE=100 AUTH=<> X=1",
	    &m);
	test_assert(k == 3);
	test_assert(m.ret == SMTP_RET_HDRS);
	test_assert(strcmp(m.envid, "abc+2Bdef") == 0);
	test_assert(m.body == SMTP_BODY_8BITMIME);
	test_assert(m.size == 0 && !m.has_size);
	/* bad values change nothing */
	k = milter_args_mail("Q1", "RET=SOME ENVID=a=b BODY=9BIT ENVID=", &m);
	test_assert(k == 0);
	test_assert(m.ret == SMTP_RET_HDRS);
	test_assert(strcmp(m.envid, "abc+2Bdef") == 0);
	test_assert(m.body == SMTP_BODY_8BITMIME);
	/* case, and the last one wins */
	k = milter_args_mail("Q1", "ret=full\tbody=7bit", &m);
	test_assert(k == 2 && m.ret == SMTP_RET_FULL &&
		    m.body == SMTP_BODY_7BIT);
	test_assert(milter_args_mail("Q1", "", &m) == 0);
	/* a long argument is cut and refused, not overflowed */
	char big[2000];
	memset(big, 'a', sizeof(big));
	memcpy(big, "ENVID=", 6);
	big[sizeof(big) - 1] = '\0';
	test_assert(milter_args_mail("Q1", big, &m) == 0);
	test_assert(strcmp(m.envid, "abc+2Bdef") == 0);
}

static void test_rcpt(void)
{
	test_begin("rcpt");
	unsigned notify = 0;
	char orcpt[SMTP_ORCPT_MAX + 1] = "";
	size_t k = milter_args_rcpt("Q1",
				    "NOTIFY=SUCCESS,FAILURE "
				    "ORCPT=rfc822;bob+40example.com SIZE=1",
				    &notify, orcpt, sizeof(orcpt));
	test_assert(k == 2);
	test_assert(notify == (SMTP_NOTIFY_SUCCESS | SMTP_NOTIFY_FAILURE));
	test_assert(strcmp(orcpt, "rfc822;bob+40example.com") == 0);
	/* NEVER with another keyword is bad; a second NOTIFY is bad */
	notify = 0;
	orcpt[0] = '\0';
	k = milter_args_rcpt("Q1", "NOTIFY=NEVER,DELAY ORCPT=nosemicolon",
			     &notify, orcpt, sizeof(orcpt));
	test_assert(k == 0 && notify == 0 && orcpt[0] == '\0');
	k = milter_args_rcpt("Q1", "NOTIFY=NEVER NOTIFY=DELAY", &notify, orcpt,
			     sizeof(orcpt));
	test_assert(k == 1 && notify == SMTP_NOTIFY_NEVER);
	/* an ORCPT longer than the caller's buffer is refused */
	char small[8] = "";
	k = milter_args_rcpt("Q1", "ORCPT=rfc822;abcdefgh", &notify, small,
			     sizeof(small));
	test_assert(k == 0 && small[0] == '\0');
}

static void test_pct(void)
{
	test_begin("dmarc pct");
	test_assert(dmarc_pct_parse("0") == 0);
	test_assert(dmarc_pct_parse(" 50 ") == 50);
	test_assert(dmarc_pct_parse("100") == 100);
	test_assert(dmarc_pct_parse("101") == 100);
	test_assert(dmarc_pct_parse("-1") == 100);
	test_assert(dmarc_pct_parse("") == 100);
	test_assert(dmarc_pct_parse("5x") == 100);
	test_assert(dmarc_pct_parse("00007") == 100); /* 5 digits: refused */
	test_assert(dmarc_pct_parse("0007") == 7);
	test_assert(dmarc_disposition(DMARC_P_REJECT, true) == DMARC_P_REJECT);
	test_assert(dmarc_disposition(DMARC_P_REJECT, false) ==
		    DMARC_P_QUARANTINE);
	test_assert(dmarc_disposition(DMARC_P_QUARANTINE, false) ==
		    DMARC_P_NONE);
	test_assert(dmarc_disposition(DMARC_P_QUARANTINE, true) ==
		    DMARC_P_QUARANTINE);
	test_assert(dmarc_disposition(DMARC_P_NONE, false) == DMARC_P_NONE);
}

int main(void)
{
	test_mail();
	test_rcpt();
	test_pct();
	return test_end();
}
