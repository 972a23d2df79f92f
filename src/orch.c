/* orch.c — the command line: options, the Orchfile to read, and the table of actions
 * (run, --list, --check, --graph, --status, ...). Everything else lives in modules. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "actions.h"
#include "graph.h"
#include "journal.h"
#include "orchfile.h"
#include "os.h"
#include "pg.h"
#include "rollback.h"
#include "run.h"
#include "state.h"
#include "show.h"
#include "status.h"
#include "util.h"

#define ORCH_VERSION "0.1.0"

enum action {
	ACT_RUN, ACT_STATUS, ACT_LIST, ACT_CHECK, ACT_WHY, ACT_GRAPH, ACT_ROLLBACK,
	ACT_APPROVE, ACT_SKIP, ACT_FORCE, ACT_RESET,
};

static const char *action_names[] = {
	"run", "--status", "--list", "--check", "--why", "--graph", "--rollback",
	"--approve", "--skip", "--force", "--reset",
};

struct options {
	const char *file;
	const char *dir;
	int jobs;      /* 0: [orch] jobs, else 1 */
	int keepgoing; /* -k */
	bool dryrun, json, yes, force, kill_orphans;
	enum action action;
	bool actionset;
	const char *arg; /* the argument of --why, --rollback, --approve, --skip */
	const char *onfailure;
	char **targets;
	size_t ntargets;
};

static const char usage_text[] =
	"usage: orch [options] [target ...]        run targets (default: all)\n"
	"\n"
	"Targets: a step, a phase name or phaseN, a milestone, or all.\n"
	"\n"
	"options:\n"
	"  -f FILE            Orchfile to read (default: Orchfile, else orchfile)\n"
	"  -C DIR             change to DIR first\n"
	"  -j N               run up to N steps at once (default: [orch] jobs, else 1)\n"
	"  -k N               keep going until N steps have failed (0 = never stop; default 1)\n"
	"  -n                 dry run: print what would run, in order, with the reason\n"
	"  -v, -q             more / less output\n"
	"  --status [--json]  progress of the plan: phases, milestones, steps, times\n"
	"  --list [--json]    targets: steps, phases, milestones\n"
	"  --check            validate the Orchfile and the journal; run nothing\n"
	"  --why STEP         explain why STEP would run or is up to date\n"
	"  --graph [TARGET]   the dependency graph in Graphviz DOT\n"
	"  --rollback TARGET  roll back the completed steps of TARGET, newest first\n"
	"  --approve STEP     mark a manual gate as done\n"
	"  --skip STEP        mark a step skipped\n"
	"  --force STEP...    make steps run again next time (with --rollback: forget\n"
	"                     steps that have no rollback)\n"
	"  --reset [--yes]    forget all progress (the old journal is kept)\n"
	"  --yes              do not ask for confirmation\n"
	"  --kill-orphans     stop a step an earlier orch left running instead of\n"
	"                     waiting for it\n"
	"  --on-failure MODE  ask, stop or skip when a step fails\n"
	"                     (default: ask on a terminal, else stop)\n"
	"  --version          print the version\n"
	"  --help             print this help\n"
	"\n"
	"Exit status: 0 done, 1 a step failed, 2 bad usage or Orchfile, 3 locked,\n"
	"4 journal unreadable, 5 progress cannot be recorded, 130 interrupted.\n";

static void set_action(struct options *o, enum action a, const char *arg)
{
	if (o->actionset && o->action != a)
		usage_error("%s cannot be combined with another action", action_names[a]);
	o->action = a;
	o->actionset = true;
	if (arg)
		o->arg = arg;
}

enum { OPT_STATUS = 256, OPT_JSON, OPT_LIST, OPT_CHECK, OPT_WHY, OPT_GRAPH, OPT_ROLLBACK,
       OPT_APPROVE, OPT_SKIP, OPT_FORCE, OPT_RESET, OPT_YES, OPT_ONFAILURE, OPT_VERSION, OPT_HELP,
       OPT_KILL_ORPHANS };

static const struct option longopts[] = {
	{"status", no_argument, NULL, OPT_STATUS},
	{"json", no_argument, NULL, OPT_JSON},
	{"list", no_argument, NULL, OPT_LIST},
	{"check", no_argument, NULL, OPT_CHECK},
	{"why", required_argument, NULL, OPT_WHY},
	{"graph", no_argument, NULL, OPT_GRAPH},
	{"rollback", required_argument, NULL, OPT_ROLLBACK},
	{"approve", required_argument, NULL, OPT_APPROVE},
	{"skip", required_argument, NULL, OPT_SKIP},
	{"force", no_argument, NULL, OPT_FORCE},
	{"reset", no_argument, NULL, OPT_RESET},
	{"yes", no_argument, NULL, OPT_YES},
	{"on-failure", required_argument, NULL, OPT_ONFAILURE},
	{"kill-orphans", no_argument, NULL, OPT_KILL_ORPHANS},
	{"version", no_argument, NULL, OPT_VERSION},
	{"help", no_argument, NULL, OPT_HELP},
	{NULL, 0, NULL, 0},
};

static int number_arg(const char *opt, const char *s, long min)
{
	long n = parse_count(s, 100000);

	if (n < min)
		usage_error("%s needs a number%s, not '%s'", opt, min ? " of at least 1" : "", s);
	return (int)n;
}

static void log_level_from_env(void)
{
	const char *lvl = getenv("ORCH_LOG_LEVEL");

	if (!lvl || !*lvl)
		return;
	if (strcmp(lvl, "error") == 0)
		verbosity = -2;
	else if (strcmp(lvl, "warn") == 0)
		verbosity = -1;
	else if (strcmp(lvl, "info") == 0)
		verbosity = 0;
	else if (strcmp(lvl, "debug") == 0)
		verbosity = 2;
	else
		warn("ORCH_LOG_LEVEL=%s is not one of error, warn, info, debug; using info", lvl);
}

static void parse_options(int argc, char **argv, struct options *o)
{
	int c;

	o->keepgoing = 1;
	while ((c = getopt_long(argc, argv, "+f:C:j:k:nvq", longopts, NULL)) != -1) {
		switch (c) {
		case 'f': o->file = optarg; break;
		case 'C': o->dir = optarg; break;
		case 'j': o->jobs = number_arg("-j", optarg, 1); break;
		case 'k': o->keepgoing = number_arg("-k", optarg, 0); break;
		case 'n': o->dryrun = true; break;
		case 'v': verbosity = verbosity < 0 ? 1 : verbosity + 1; break;
		case 'q': verbosity = -1; break;
		case OPT_STATUS: set_action(o, ACT_STATUS, NULL); break;
		case OPT_JSON: o->json = true; break;
		case OPT_LIST: set_action(o, ACT_LIST, NULL); break;
		case OPT_CHECK: set_action(o, ACT_CHECK, NULL); break;
		case OPT_WHY: set_action(o, ACT_WHY, optarg); break;
		case OPT_GRAPH: set_action(o, ACT_GRAPH, NULL); break;
		case OPT_ROLLBACK: set_action(o, ACT_ROLLBACK, optarg); break;
		case OPT_APPROVE: set_action(o, ACT_APPROVE, optarg); break;
		case OPT_SKIP: set_action(o, ACT_SKIP, optarg); break;
		case OPT_FORCE: o->force = true; break;
		case OPT_RESET: set_action(o, ACT_RESET, NULL); break;
		case OPT_YES: o->yes = true; break;
		case OPT_KILL_ORPHANS: o->kill_orphans = true; break;
		case OPT_ONFAILURE:
			if (strcmp(optarg, "ask") && strcmp(optarg, "stop") && strcmp(optarg, "skip"))
				usage_error("--on-failure takes ask, stop or skip, not '%s'", optarg);
			o->onfailure = optarg;
			break;
		case OPT_VERSION: printf("orch %s\n", ORCH_VERSION); exit(EXIT_DONE);
		case OPT_HELP: fputs(usage_text, stdout); exit(EXIT_DONE);
		default:
			usage_hint();
			exit(EXIT_USAGE);
		}
	}
	o->targets = argv + optind;
	o->ntargets = (size_t)(argc - optind);
	/* --force alone names its steps as operands; with --rollback it is a modifier */
	if (o->force && !o->actionset)
		set_action(o, ACT_FORCE, NULL);
	if (o->json && o->action != ACT_STATUS && o->action != ACT_LIST)
		usage_error("%s", "--json goes with --status or --list");
	if (o->ntargets && o->action != ACT_RUN && o->action != ACT_GRAPH && o->action != ACT_FORCE)
		usage_error("%s takes no targets", action_names[o->action]);
	if (o->action == ACT_FORCE && !o->ntargets)
		usage_error("%s", "--force needs the steps to run again");
}

static struct graph *load(struct options *o)
{
	const char *file = o->file;
	struct graph *g;
	int errors = 0;

	if (!file && !(file = orchfile_default()))
		fatal("no Orchfile here (looked for Orchfile and orchfile in the working directory; use -f FILE)");
	if (!(g = orchfile_load(file, &errors)))
		fatal("%s: %d error%s; nothing was run", file, errors, errors == 1 ? "" : "s");
	return g;
}

/* Resolve the targets; unknown ones are a usage error listing what exists. */
static struct node **resolve_targets(struct graph *g, char **names, size_t n)
{
	struct node **t = xcalloc(n ? n : 1, sizeof(*t));
	int bad = 0;

	for (size_t i = 0; i < n; i++) {
		if (graph_target(g, names[i], &t[i]) < 0) {
			error("unknown target '%s' (see 'orch --list' for steps, phases and milestones)", names[i]);
			bad++;
		}
	}
	if (bad) {
		free(t);
		exit(EXIT_USAGE);
	}
	return t;
}

/* Steps run in the plan's directory, and .orch/ lives there: go there once loaded. */
static void enter_plan_dir(struct graph *g)
{
	if (chdir(g->dir) < 0)
		fatal("cannot change to %s:", g->dir);
}

/* -j, else [orch] jobs, else 1. */
static int jobs_of(struct graph *g, struct options *o)
{
	return o->jobs ? o->jobs : g->jobs ? g->jobs : 1;
}

static struct runopts run_options(struct graph *g, struct options *o)
{
	struct runopts ro = {0};

	ro.jobs = jobs_of(g, o);
	ro.keepgoing = o->keepgoing;
	ro.kill_orphans = o->kill_orphans;
	ro.interactive = os_isatty(STDIN_FILENO) && os_isatty(STDOUT_FILENO);
	if (!o->onfailure)
		ro.onfailure = ro.interactive ? ONFAIL_ASK : ONFAIL_STOP;
	else
		ro.onfailure = strcmp(o->onfailure, "ask") == 0    ? ONFAIL_ASK
		               : strcmp(o->onfailure, "stop") == 0 ? ONFAIL_STOP
		                                                   : ONFAIL_SKIP;
	if (ro.onfailure == ONFAIL_ASK && !ro.interactive)
		ro.onfailure = ONFAIL_STOP;
	return ro;
}

static int run(struct graph *g, struct options *o)
{
	struct node **t = resolve_targets(g, o->targets, o->ntargets);
	struct runopts ro = run_options(g, o);
	struct journal *j;
	int status;

	enter_plan_dir(g);
	if (o->dryrun) {
		j = journal_open(g, 0);
		state_load(g, j);
		status = show_dry(g, t, o->ntargets);
	} else {
		j = journal_open(g, JOURNAL_LOCK | JOURNAL_CREATE);
		state_load(g, j);
		status = run_targets(g, j, t, o->ntargets, &ro);
		pg_close_all();
	}
	if (j)
		journal_close(j);
	free(t);
	return status;
}

static int rollback(struct graph *g, struct options *o)
{
	struct node **t = resolve_targets(g, (char **)&o->arg, 1);
	struct runopts ro = run_options(g, o);
	struct rollbackopts rb = {o->dryrun, o->force, o->yes};
	struct journal *j;
	int status;

	enter_plan_dir(g);
	j = journal_open(g, o->dryrun ? 0 : JOURNAL_LOCK);
	if (!j) {
		printf("orch: nothing to roll back: nothing has run yet\n");
		free(t);
		return EXIT_DONE;
	}
	state_load(g, j);
	status = rollback_target(g, j, t[0], &rb, &ro);
	pg_close_all();
	journal_close(j);
	free(t);
	return status;
}

/* --status: read-only, so the journal is opened without the lock, even while a run goes on. */
static int show_status(struct graph *g, struct options *o)
{
	struct journal *j;
	int status;

	enter_plan_dir(g);
	j = journal_open(g, 0);
	state_load(g, j);
	status = status_show(g, j, o->json, jobs_of(g, o));
	if (j)
		journal_close(j);
	return status;
}

/* --check: the Orchfile loaded; now the journal, and applied SQL that changed. */
static int check(struct graph *g)
{
	const char *file = g->file;
	int status;

	enter_plan_dir(g);
	status = action_check_journal(g);
	if (status == EXIT_DONE)
		printf("%s: ok: %zu step%s, %zu phase%s, %zu milestone%s, %zu pool%s\n", file, g->steps.n,
		       g->steps.n == 1 ? "" : "s", g->phases.n, g->phases.n == 1 ? "" : "s", g->milestones.n,
		       g->milestones.n == 1 ? "" : "s", g->pools.n, g->pools.n == 1 ? "" : "s");
	return status;
}

static int graph_dot(struct graph *g, struct options *o)
{
	struct node **t = resolve_targets(g, o->targets, o->ntargets);

	if (o->ntargets)
		graph_select(g, t, o->ntargets, MARK_SELECTED);
	show_dot(g, o->ntargets ? MARK_SELECTED : MARK_NONE, stdout);
	free(t);
	return EXIT_DONE;
}

int main(int argc, char **argv)
{
	struct options o = {0};
	struct graph *g;
	int status = EXIT_USAGE;

	argv[0] = (char *)argv0; /* getopt's messages start with it: "orch: ..." */
	os_stdfds();
	log_level_from_env();
	parse_options(argc, argv, &o);
	if (o.dir && chdir(o.dir) < 0)
		fatal("cannot change to %s:", o.dir);
	g = load(&o);
	switch (o.action) {
	case ACT_STATUS:
		status = show_status(g, &o);
		break;
	case ACT_LIST:
		show_list(g, o.json, stdout);
		status = EXIT_DONE;
		break;
	case ACT_CHECK:
		status = check(g);
		break;
	case ACT_GRAPH:
		status = graph_dot(g, &o);
		break;
	case ACT_RUN:
		status = run(g, &o);
		break;
	case ACT_ROLLBACK:
		status = rollback(g, &o);
		break;
	case ACT_WHY:
		enter_plan_dir(g);
		status = action_why(g, o.arg);
		break;
	case ACT_APPROVE:
		enter_plan_dir(g);
		status = action_approve(g, o.arg);
		break;
	case ACT_SKIP:
		enter_plan_dir(g);
		status = action_skip(g, o.arg);
		break;
	case ACT_FORCE:
		enter_plan_dir(g);
		status = action_force(g, o.targets, o.ntargets);
		break;
	case ACT_RESET:
		enter_plan_dir(g);
		status = action_reset(g, o.yes);
		break;
	}
	/* A closed pipe (`orch | head -1`) is no failure of the plan, which went on and
	 * is in the journal: its status stands, with a word on stderr. */
	if ((fflush(stdout) != 0 || ferror(stdout)) && !os_stdout_lost())
		fatalx(EXIT_FAILED, "writing output:");
	if (os_stdout_lost())
		warn("standard output was closed; the plan went on (see orch --status)");
	return status;
}
