/* iked/state — the states of phase 1 and phase 2 negotiations, their names,
 * and the one setter each that every change of state goes through: it allows
 * only the transitions of the exchanges (a table per machine) and logs each
 * change at debug level, so a negotiation's log reads as its path through
 * the machine. */
#include <stdio.h>

#include "common/log.h"
#include "iked/exchange.h"

#define BIT(s) (1u << (s))

/* From each state, the states it may move to. Every state but DELETED may
 * end in DELETED (a failure, a delete, an expiry); DELETED is final. */
static const unsigned p1_next[] = {
	[P1_NONE] = BIT(P1_MM_I_SA) | BIT(P1_AM_I_SA) | BIT(P1_MM_R_SA) | BIT(P1_AM_R_SA),
	[P1_MM_I_SA] = BIT(P1_MM_I_KE),
	[P1_MM_I_KE] = BIT(P1_MM_I_AUTH),
	[P1_MM_I_AUTH] = BIT(P1_ESTABLISHED),
	[P1_MM_R_SA] = BIT(P1_MM_R_KE),
	[P1_MM_R_KE] = BIT(P1_ESTABLISHED),
	[P1_AM_I_SA] = BIT(P1_ESTABLISHED),
	[P1_AM_R_SA] = BIT(P1_ESTABLISHED),
	[P1_ESTABLISHED] = 0,
	[P1_DELETED] = 0,
};

static const unsigned p2_next[] = {
	[P2_NONE] = BIT(P2_WAIT_P1) | BIT(P2_I_SENT) | BIT(P2_R_SENT),
	[P2_WAIT_P1] = BIT(P2_I_SENT),
	[P2_I_SENT] = BIT(P2_ESTABLISHED),
	[P2_R_SENT] = BIT(P2_ESTABLISHED),
	[P2_ESTABLISHED] = 0,
	[P2_DELETED] = 0,
};

const char *p1_state_name(enum p1_state s)
{
	switch (s) {
	case P1_NONE: return "NONE";
	case P1_MM_I_SA: return "MM_SA_SENT";
	case P1_MM_I_KE: return "MM_KE_SENT";
	case P1_MM_I_AUTH: return "MM_AUTH_SENT";
	case P1_MM_R_SA: return "MM_SA_REPLIED";
	case P1_MM_R_KE: return "MM_KE_REPLIED";
	case P1_AM_I_SA: return "AM_SENT";
	case P1_AM_R_SA: return "AM_REPLIED";
	case P1_ESTABLISHED: return "DONE";
	case P1_DELETED: return "DELETED";
	}
	return "?";
}

const char *p2_state_name(enum p2_state s)
{
	switch (s) {
	case P2_NONE: return "NONE";
	case P2_WAIT_P1: return "WAIT_P1";
	case P2_I_SENT: return "QM_SENT";
	case P2_R_SENT: return "QM_REPLIED";
	case P2_ESTABLISHED: return "DONE";
	case P2_DELETED: return "DELETED";
	}
	return "?";
}

static bool allowed(const unsigned *next, size_t n, unsigned from, unsigned to, unsigned deleted)
{
	if (from >= n || to >= n || from == deleted)
		return false;
	return to == deleted || (next[from] & BIT(to));
}

int p1_set_state(struct p1sa *p1, enum p1_state s)
{
	const char *from = p1_state_name(p1->state), *to = p1_state_name(s);
	if (!allowed(p1_next, sizeof p1_next / sizeof p1_next[0], p1->state, s, P1_DELETED)) {
		log_debug("K%u: %s -> %s refused: not a step of phase 1", kid(p1), from, to);
		return -1;
	}
	log_debug("K%u: %s -> %s", kid(p1), from, to);
	p1->state = s;
	return 0;
}

int p2_set_state(struct p2sa *p2, enum p2_state s)
{
	char t[24];
	if (p2->generation)
		snprintf(t, sizeof t, "Y%u.%u", p2->yt->id, p2->generation);
	else
		snprintf(t, sizeof t, "Y%u", p2->yt->id);
	const char *from = p2_state_name(p2->state), *to = p2_state_name(s);
	if (!allowed(p2_next, sizeof p2_next / sizeof p2_next[0], p2->state, s, P2_DELETED)) {
		log_debug("%s: %s -> %s refused: not a step of phase 2", t, from, to);
		return -1;
	}
	log_debug("%s: %s -> %s", t, from, to);
	p2->state = s;
	return 0;
}
