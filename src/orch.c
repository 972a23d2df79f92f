/* orch.c — the command line: options, the Orchfile to read, and the table of actions
 * (run, --list, --check, --graph, --status, ...). Everything else lives in modules. */
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "actions.h"
#include "changelog.h"
#include "clean.h"
#include "graph.h"
#include "journal.h"
#include "orchfile.h"
#include "notify.h"
#include "os.h"
#include "pg.h"
#include "registry.h"
#include "rollback.h"
#include "run.h"
#include "scratch.h"
#include "state.h"
#include "show.h"
#include "sqlsplit.h"
#include "status.h"
#include "report.h"
#include "trace.h"
#include "util.h"
#include "claims.h"

#define ORCH_VERSION "0.1.0"

enum action {
	ACT_RUN, ACT_STATUS, ACT_LIST, ACT_CHECK, ACT_WHY, ACT_GRAPH, ACT_ROLLBACK,
	ACT_APPROVE, ACT_SKIP, ACT_FORCE, ACT_RESET, ACT_TOOL, ACT_ACCEPT, ACT_BASELINE, ACT_TRACE, ACT_REPORT,
	ACT_RESTORE, ACT_TEST_ROLLBACK,
	ACT_PROMOTE, ACT_ABORT, ACT_CHANGELOG, ACT_STATE_EXPORT, ACT_STATE_IMPORT,
	ACT_WORKER,
};

static const char *action_names[] = {
	"run", "--status", "--list", "--check", "--why", "--graph", "--rollback",
	"--approve", "--skip", "--force", "--reset", "-t", "--accept", "--baseline", "--trace", "--report",
	"--restore", "--test-rollback",
	"--promote", "--abort", "--changelog", "--state-export", "--state-import",
	"--worker",
};

enum tool { TOOL_LIST, TOOL_TARGETS, TOOL_COMMANDS, TOOL_QUERY, TOOL_CLEAN };

/* -t TOOL: ninja's tools, each with its operands; -t list prints this table. */
static const struct {
	const char *name, *args, *help;
} tools[] = {
	{"list", "", "the tools"},
	{"targets", "", "every target name: steps, phases, phaseN, milestones, all"},
	{"commands", "[TARGET...]", "the commands the targets would run, in order"},
	{"query", "TARGET...", "what a target needs and what needs it"},
	{"clean", "[TARGET...]", "remove the declared outputs of the steps (-n: list them)"},
};

/* -d MODE: ninja's debug modes. */
static const struct {
	const char *name, *help;
} debug_modes[] = {
	{"explain", "say why each step that will run runs, before the run"},
	{"stats", "time spent loading, hashing, reading the journal and running"},
	{"list", "the debug modes"},
};

struct options {
	const char *file;
	const char *dir;
	int jobs;      /* 0: [orch] jobs, else 1 */
	int keepgoing; /* -k */
	bool dryrun, question, json, yes, force, kill_orphans, database, state, sql;
	bool explain, stats; /* -d explain, -d stats */
	enum tool tool;      /* -t */
	enum action action;
	bool actionset;
	const char *arg; /* the argument of --why, --rollback, --approve, --skip, --accept, --baseline */
	const char *target; /* -T */
	const char *reason; /* --reason */
	const char *labels; /* --labels */
	const char *to;  /* --rollback --to NODE */
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
	"  -f FILE, --file=FILE    Orchfile to read (default: Orchfile, else orchfile)\n"
	"  -C DIR, --directory=DIR change to DIR first\n"
	"  -D NAME=VALUE, --define=NAME=VALUE\n"
	"                          set a variable over [vars]: ${NAME}, and :NAME in SQL\n"
	"  -j N, --jobs=N          run up to N steps at once (default: [orch] jobs,\n"
	"                          else 1)\n"
	"  -k N, --keep-going[=N]  keep going until N steps have failed (-k alone or 0:\n"
	"                          never stop; default 1)\n"
	"  -n, --dry-run           print what would run, in order, with the reason\n"
	"  --sql                   with -n: and the exact SQL each SQL step would send\n"
	"  -q, --question          run nothing, print nothing: exit 0 when up to date,\n"
	"                          1 when something would run\n"
	"  -v, --verbose           more output\n"
	"  -s, --quiet, --silent   less output\n"
	"  -d MODE, --debug=MODE   explain, stats (-d list: the debug modes)\n"
	"  -t TOOL, --tool=TOOL    targets, commands, query, clean (-t list: the tools)\n"
	"  -T NAME, --target=NAME  the target environment ([target NAME]; default:\n"
	"                          ORCH_TARGET, else [orch] target)\n"
	"  --status [--json]       progress of the plan: phases, milestones, steps\n"
	"  --list [--json]         targets: steps, phases, milestones\n"
	"  --check                 validate the Orchfile and the journal; run nothing\n"
	"  --why STEP              explain why STEP would run or is up to date\n"
	"  --graph [TARGET]        the dependency graph in Graphviz DOT (--state:\n"
	"                          coloured by each step's state)\n"
	"  --rollback TARGET       roll back the completed steps of TARGET, newest first\n"
	"  --rollback [TARGET] --to NODE\n"
	"                          roll back what came after NODE (a sqitch tag @TAG, a\n"
	"                          step, a milestone): NODE and all it needs stay\n"
	"  --restore STEP          restore a SQL step's backup tables, not sql_rollback\n"
	"  --test-rollback [TARGET...]\n"
	"                          deploy, roll back, deploy again on ORCH_SCRATCH_URL,\n"
	"                          comparing schema dumps\n"
	"  --approve STEP          mark a manual gate as done\n"
	"  --skip STEP             mark a step skipped\n"
	"  --force TARGET...       make the steps of the targets run again next time\n"
	"                          (with --rollback: forget steps that have no rollback)\n"
	"  --reset [--yes]         forget all progress (the old journal is kept)\n"
	"                          (--database: the registry's rows of the plan too)\n"
	"  --accept STEP           record an applied SQL step's changed file as applied\n"
	"  --baseline TARGET       record the steps of TARGET as applied, running nothing\n"
	"  --reason TEXT           why (recorded with --accept, --baseline, --promote,\n"
	"                          --abort)\n"
	"  --promote STEP          end a step's hold now: it is done\n"
	"  --abort STEP            end a step's hold now: it failed (on_fail applies)\n"
	"  --trace FILE            the journal as a Chrome trace (Perfetto)\n"
	"  --report [FILE]         the plan as one HTML page (default: .orch/report.html)\n"
	"  --changelog [FILE]      write the changelog again from the journal (default:\n"
	"                          [orch] changelog, CHANGELOG.md)\n"
	"  --state-export [FILE]   copy the journal out of the state database ([orch]\n"
	"                          state) into FILE (default: .orch/journal.jsonl)\n"
	"  --state-import          copy .orch/journal.jsonl into the state database\n"
	"  --worker [--labels a,b] claim and run the steps with runs_on = one of the\n"
	"                          labels that the running orch offers ([orch] state),\n"
	"                          -j N of them at once (default 1)\n"
	"  --yes                   do not ask for confirmation\n"
	"  --kill-orphans          stop a step an earlier orch left running instead of\n"
	"                          waiting for it\n"
	"  --on-failure MODE       ask, stop or skip when a step fails\n"
	"                          (default: ask on a terminal, else stop)\n"
	"  --version               print the version\n"
	"  -h, --help              print this help\n"
	"\n"
	"Exit status: 0 done, 1 a step failed or a gate waits for approval, 2 bad usage\n"
	"or Orchfile, 3 locked, 4 journal unreadable, 5 progress cannot be recorded,\n"
	"130 interrupted.\n";

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
       OPT_APPROVE, OPT_SKIP, OPT_FORCE, OPT_RESET, OPT_YES, OPT_ONFAILURE, OPT_VERSION,
       OPT_KILL_ORPHANS, OPT_ACCEPT, OPT_BASELINE, OPT_DATABASE, OPT_REASON, OPT_TRACE, OPT_STATE, OPT_REPORT,
       OPT_TO, OPT_RESTORE, OPT_SQL, OPT_TEST_ROLLBACK, OPT_PROMOTE, OPT_ABORT, OPT_CHANGELOG,
       OPT_STATE_EXPORT, OPT_STATE_IMPORT, OPT_WORKER, OPT_LABELS };

static const struct option longopts[] = {
	{"file", required_argument, NULL, 'f'},
	{"directory", required_argument, NULL, 'C'},
	{"define", required_argument, NULL, 'D'},
	{"jobs", required_argument, NULL, 'j'},
	{"keep-going", optional_argument, NULL, 'k'},
	{"dry-run", no_argument, NULL, 'n'},
	{"sql", no_argument, NULL, OPT_SQL},
	{"question", no_argument, NULL, 'q'},
	{"verbose", no_argument, NULL, 'v'},
	{"quiet", no_argument, NULL, 's'},
	{"silent", no_argument, NULL, 's'},
	{"debug", required_argument, NULL, 'd'},
	{"tool", required_argument, NULL, 't'},
	{"target", required_argument, NULL, 'T'},
	{"accept", required_argument, NULL, OPT_ACCEPT},
	{"baseline", required_argument, NULL, OPT_BASELINE},
	{"database", no_argument, NULL, OPT_DATABASE},
	{"reason", required_argument, NULL, OPT_REASON},
	{"trace", required_argument, NULL, OPT_TRACE},
	{"state", no_argument, NULL, OPT_STATE},
	{"state-export", optional_argument, NULL, OPT_STATE_EXPORT},
	{"state-import", no_argument, NULL, OPT_STATE_IMPORT},
	{"worker", no_argument, NULL, OPT_WORKER},
	{"labels", required_argument, NULL, OPT_LABELS},
	{"report", optional_argument, NULL, OPT_REPORT},
	{"changelog", optional_argument, NULL, OPT_CHANGELOG},
	{"promote", required_argument, NULL, OPT_PROMOTE},
	{"abort", required_argument, NULL, OPT_ABORT},
	{"status", no_argument, NULL, OPT_STATUS},
	{"json", no_argument, NULL, OPT_JSON},
	{"list", no_argument, NULL, OPT_LIST},
	{"check", no_argument, NULL, OPT_CHECK},
	{"why", required_argument, NULL, OPT_WHY},
	{"graph", no_argument, NULL, OPT_GRAPH},
	{"rollback", required_argument, NULL, OPT_ROLLBACK},
	{"to", required_argument, NULL, OPT_TO},
	{"restore", required_argument, NULL, OPT_RESTORE},
	{"test-rollback", no_argument, NULL, OPT_TEST_ROLLBACK},
	{"approve", required_argument, NULL, OPT_APPROVE},
	{"skip", required_argument, NULL, OPT_SKIP},
	{"force", no_argument, NULL, OPT_FORCE},
	{"reset", no_argument, NULL, OPT_RESET},
	{"yes", no_argument, NULL, OPT_YES},
	{"on-failure", required_argument, NULL, OPT_ONFAILURE},
	{"kill-orphans", no_argument, NULL, OPT_KILL_ORPHANS},
	{"version", no_argument, NULL, OPT_VERSION},
	{"help", no_argument, NULL, 'h'},
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
	const char *var = "ORCH_LOG_LEVEL", *lvl = getenv(var);

	/* LOG_LEVEL too, the name scripts use: one setting for the plan's scripts and orch */
	if (!lvl || !*lvl)
		var = "LOG_LEVEL", lvl = getenv(var);
	if (!lvl || !*lvl)
		return;
	if (strcasecmp(lvl, "error") == 0)
		verbosity = -2;
	else if (strcasecmp(lvl, "warn") == 0 || strcasecmp(lvl, "warning") == 0)
		verbosity = -1;
	else if (strcasecmp(lvl, "info") == 0)
		verbosity = 0;
	else if (strcasecmp(lvl, "debug") == 0)
		verbosity = 2;
	else
		warn("%s=%s is not one of error, warn, info, debug; using info", var, lvl);
}

/* "NAME (known KINDs: A, B, C)" then "; did you mean 'B'?" when one is close. */
static void unknown_name(const char *kind, const char *name, const char *const *names, size_t stride,
                         size_t n)
{
	struct buf known = {0};
	struct suggestion sg;

	suggest_start(&sg, name);
	for (size_t i = 0; i < n; i++) {
		const char *k = *(const char *const *)((const char *)names + i * stride);

		buf_printf(&known, "%s%s", i ? ", " : "", k);
		suggest_offer(&sg, k);
	}
	if (sg.best)
		usage_error("unknown %s '%s' (known %ss: %s); did you mean '%s'?", kind, name, kind, buf_str(&known),
		            sg.best);
	usage_error("unknown %s '%s' (known %ss: %s)", kind, name, kind, buf_str(&known));
}

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static void debug_mode(struct options *o, const char *arg)
{
	char *modes = xstrdup(arg), *m, *save = NULL;
	bool any = false;

	/* -d explain -d stats, or ninja's comma-separated form too */
	for (m = strtok_r(modes, ",", &save); m; m = strtok_r(NULL, ",", &save), any = true) {
		if (strcmp(m, "explain") == 0) {
			o->explain = true;
		} else if (strcmp(m, "stats") == 0) {
			o->stats = true;
		} else if (strcmp(m, "list") == 0) {
			printf("debug modes:\n");
			for (size_t i = 0; i < NELEM(debug_modes); i++)
				printf("  %-8s %s\n", debug_modes[i].name, debug_modes[i].help);
			printf("several modes: -d explain -d stats, or -d explain,stats\n");
			exit(EXIT_DONE);
		} else {
			unknown_name("debug mode", m, &debug_modes[0].name, sizeof(debug_modes[0]), NELEM(debug_modes));
		}
	}
	if (!any)
		unknown_name("debug mode", arg, &debug_modes[0].name, sizeof(debug_modes[0]), NELEM(debug_modes));
	free(modes);
}

static void tool_arg(struct options *o, const char *arg)
{
	for (size_t i = 0; i < NELEM(tools); i++) {
		if (strcmp(arg, tools[i].name) == 0) {
			o->tool = (enum tool)i;
			set_action(o, ACT_TOOL, NULL);
			return;
		}
	}
	unknown_name("tool", arg, &tools[0].name, sizeof(tools[0]), NELEM(tools));
}

/* getopt said "unrecognized option '--stauts'": add "did you mean '--status'?" when a
 * long option is close (not when the word is an ambiguous abbreviation of several). */
static void suggest_option(const char *arg)
{
	struct suggestion sg;
	char *word;

	if (!arg || strncmp(arg, "--", 2) != 0 || !arg[2])
		return;
	word = xstrndup(arg + 2, strcspn(arg + 2, "="));
	for (const struct option *lo = longopts; lo->name; lo++)
		if (strncmp(lo->name, word, strlen(word)) == 0)
			goto out;
	suggest_start(&sg, word);
	for (const struct option *lo = longopts; lo->name; lo++)
		suggest_offer(&sg, lo->name);
	if (sg.best)
		notice("did you mean '--%s'?", sg.best);
out:
	free(word);
}

static void parse_options(int argc, char **argv, struct options *o)
{
	int c, li;

	o->keepgoing = 1;
	opterr = 1;
	while ((li = -1, c = getopt_long(argc, argv, "+f:C:D:j:k::nqvsd:t:T:h", longopts, &li)) != -1) {
		char opt[32]; /* the option as written, for messages */

		if (li >= 0)
			snprintf(opt, sizeof(opt), "--%s", longopts[li].name);
		else
			snprintf(opt, sizeof(opt), "-%c", c);

		switch (c) {
		case 'f': o->file = optarg; break;
		case 'C': o->dir = optarg; break;
		case 'D':
			if (orchfile_define(optarg) < 0)
				usage_error("-D takes NAME=VALUE (NAME of letters, digits and _), not '%s'", optarg);
			break;
		case 'j': o->jobs = number_arg(opt, optarg, 1); break;
		case 'k':
			/* make's rule for an optional number: -k5, --keep-going=5, or the next
			 * word when it starts with a digit (-k 5); -k alone never stops */
			if (!optarg && optind < argc && isdigit((unsigned char)argv[optind][0]))
				optarg = argv[optind++];
			o->keepgoing = optarg ? number_arg(opt, optarg, 0) : 0;
			break;
		case 'n': o->dryrun = true; break;
		case 'q': o->question = true; break;
		case 'v': verbosity = verbosity < 0 ? 1 : verbosity + 1; break;
		case 's': verbosity = -1; break;
		case 'd': debug_mode(o, optarg); break;
		case 't': tool_arg(o, optarg); break;
		case 'T':
			if (!*optarg)
				usage_error("%s", "--target needs a name");
			o->target = optarg;
			break;
		case OPT_ACCEPT: set_action(o, ACT_ACCEPT, optarg); break;
		case OPT_BASELINE: set_action(o, ACT_BASELINE, optarg); break;
		case OPT_DATABASE: o->database = true; break;
		case OPT_REASON: o->reason = optarg; break;
		case OPT_TRACE: set_action(o, ACT_TRACE, optarg); break;
		case OPT_STATE: o->state = true; break;
		case OPT_STATE_EXPORT:
			/* --state-export FILE (or -) as well as --state-export=FILE, as --report */
			if (!optarg && optind < argc && (argv[optind][0] != '-' || strcmp(argv[optind], "-") == 0))
				optarg = argv[optind++];
			set_action(o, ACT_STATE_EXPORT, optarg ? optarg : "");
			break;
		case OPT_STATE_IMPORT: set_action(o, ACT_STATE_IMPORT, NULL); break;
		case OPT_WORKER: set_action(o, ACT_WORKER, NULL); break;
		case OPT_LABELS: o->labels = optarg; break;
		case OPT_REPORT:
			/* --report FILE as well as --report=FILE: it takes no targets */
			if (!optarg && optind < argc && argv[optind][0] != '-')
				optarg = argv[optind++];
			set_action(o, ACT_REPORT, optarg ? optarg : "");
			break;
		case OPT_CHANGELOG:
			if (!optarg && optind < argc && argv[optind][0] != '-')
				optarg = argv[optind++];
			set_action(o, ACT_CHANGELOG, optarg ? optarg : "");
			break;
		case OPT_PROMOTE: set_action(o, ACT_PROMOTE, optarg); break;
		case OPT_ABORT: set_action(o, ACT_ABORT, optarg); break;
		case OPT_STATUS: set_action(o, ACT_STATUS, NULL); break;
		case OPT_JSON: o->json = true; break;
		case OPT_LIST: set_action(o, ACT_LIST, NULL); break;
		case OPT_CHECK: set_action(o, ACT_CHECK, NULL); break;
		case OPT_WHY: set_action(o, ACT_WHY, optarg); break;
		case OPT_GRAPH: set_action(o, ACT_GRAPH, NULL); break;
		case OPT_ROLLBACK:
			/* --rollback --to TAG: sqitch's revert --to, of the whole plan */
			if (strcmp(optarg, "--to") == 0) {
				if (optind >= argc)
					usage_error("%s", "--to needs a tag, step or milestone");
				o->to = argv[optind++];
				optarg = "all";
			} else if (strncmp(optarg, "--to=", 5) == 0) {
				o->to = optarg + 5;
				optarg = "all";
			}
			set_action(o, ACT_ROLLBACK, optarg);
			break;
		case OPT_TO: o->to = optarg; break;
		case OPT_RESTORE: set_action(o, ACT_RESTORE, optarg); break;
		case OPT_SQL: o->sql = true; break;
		case OPT_TEST_ROLLBACK: set_action(o, ACT_TEST_ROLLBACK, NULL); break;
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
		case 'h': fputs(usage_text, stdout); exit(EXIT_DONE);
		default:
			if (optopt == 0)
				suggest_option(argv[optind - 1]);
			usage_hint();
			exit(EXIT_USAGE);
		}
	}
	o->targets = argv + optind;
	o->ntargets = (size_t)(argc - optind);
	/* --force alone names its targets as operands; with --rollback it is a modifier */
	if (o->force && !o->actionset)
		set_action(o, ACT_FORCE, NULL);
	if (o->to && o->action != ACT_ROLLBACK)
		usage_error("%s", "--to goes with --rollback");
	if (o->dryrun && (o->action == ACT_APPROVE || o->action == ACT_SKIP || o->action == ACT_FORCE ||
	                  o->action == ACT_RESET || o->action == ACT_ACCEPT || o->action == ACT_PROMOTE ||
	                  o->action == ACT_ABORT))
		usage_error("-n (dry run) does not go with %s: it has none, and would change the journal",
		            action_names[o->action]);
	if (o->sql && (!o->dryrun || o->action != ACT_RUN))
		usage_error("%s", "--sql goes with -n (the SQL a run would send)");
	if (o->json && o->action != ACT_STATUS && o->action != ACT_LIST)
		usage_error("%s", "--json goes with --status or --list");
	if (o->question && o->action != ACT_RUN)
		usage_error("-q (--question) asks whether targets are up to date and does not go with %s%s",
		            action_names[o->action], o->action == ACT_TOOL ? " TOOL" : " (-s is quiet)");
	if ((o->explain || o->stats) && o->action != ACT_RUN)
		usage_error("-d %s goes with a run, -n or -q, not with %s%s", o->explain ? "explain" : "stats",
		            action_names[o->action], o->action == ACT_TOOL ? " TOOL" : "");
	if (o->action == ACT_TOOL) {
		bool takes = tools[o->tool].args[0] != '\0';

		if (o->ntargets && !takes)
			usage_error("-t %s takes no targets", tools[o->tool].name);
		if (!o->ntargets && tools[o->tool].args[0] != '\0' && tools[o->tool].args[0] != '[')
			usage_error("-t %s needs a %s", tools[o->tool].name, o->tool == TOOL_QUERY ? "target" : "step");
		return;
	}
	if (o->state && o->action != ACT_GRAPH)
		usage_error("%s", "--state goes with --graph");
	if (o->database && o->action != ACT_RESET)
		usage_error("%s", "--database goes with --reset");
	if (o->reason && o->action != ACT_ACCEPT && o->action != ACT_BASELINE && o->action != ACT_PROMOTE &&
	    o->action != ACT_ABORT)
		usage_error("%s", "--reason goes with --accept, --baseline, --promote or --abort");
	if (o->ntargets && o->action != ACT_RUN && o->action != ACT_GRAPH && o->action != ACT_FORCE &&
	    o->action != ACT_TEST_ROLLBACK)
		usage_error("%s takes no targets", action_names[o->action]);
	if (o->action == ACT_FORCE && !o->ntargets)
		usage_error("%s", "--force needs the steps to run again");
}

static struct graph *load(struct options *o)
{
	const char *file = o->file;
	struct graph *g;
	int errors = 0;

	orchfile_want_target(o->target);
	if (!file && !(file = orchfile_default()))
		fatal("no Orchfile here (looked for Orchfile, orchfile and sqitch.plan in the working directory; use -f FILE)");
	if (!(g = orchfile_load(file, &errors)))
		fatal("%s: %d error%s; nothing was run", file, errors, errors == 1 ? "" : "s");
	return g;
}

/* "unknown target 'X'" with the closest name (a step, phase, phaseN, milestone, all),
 * else a pointer to --list; WHAT prefixes it ("--force: "). */
static void unknown_target(struct graph *g, const char *what, const char *name)
{
	struct suggestion sg;
	struct vec phasen = {0};
	/* phase9 is no typo of phase1: phaseN is offered for words that are not phaseN */
	bool numbered = strncmp(name, "phase", 5) == 0 && parse_count(name + 5, 1000000) >= 0;

	suggest_start(&sg, name);
	for (size_t i = 0; i < g->nodes.n; i++)
		suggest_offer(&sg, ((struct node *)g->nodes.v[i])->name);
	for (size_t i = 0; i < g->phases.n && !numbered; i++) {
		vec_push(&phasen, xasprintf("phase%d", ((struct node *)g->phases.v[i])->number));
		suggest_offer(&sg, phasen.v[i]);
	}
	suggest_offer(&sg, "all");
	if (sg.best)
		error("%sunknown target '%s' (did you mean '%s'?)", what, name, sg.best);
	else
		error("%sunknown target '%s' (see 'orch --list' for steps, phases and milestones)", what, name);
	for (size_t i = 0; i < phasen.n; i++)
		free(phasen.v[i]);
	vec_free(&phasen);
}

/* Resolve the targets; unknown ones are a usage error naming each. */
static struct node **resolve_targets(struct graph *g, char **names, size_t n)
{
	struct node **t = xcalloc(n ? n : 1, sizeof(*t));
	int bad = 0;

	for (size_t i = 0; i < n; i++) {
		if (graph_target(g, names[i], &t[i]) < 0) {
			unknown_target(g, "", names[i]);
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

/* -d stats: where the time went, in ms (measured around the calls made here). */
static struct {
	int64_t start, orchfile, journal, signatures, run;
} stats;

/* -d explain: for each step that will run, why, as --why says it, on stderr. */
static void explain(struct vec *pending)
{
	for (size_t i = 0; i < pending->n; i++) {
		struct node *n = pending->v[i];
		struct vec changes = {0};
		enum stepstate st = state_of(n);

		if (st == ST_STALE || st == ST_CHANGED)
			state_changes(n, &changes);
		if (st == ST_CHANGED)
			debug_note("explain", "%s was applied and has changed since; with on_change = error orch will not run it again%s",
			           n->name, changes.n ? ":" : "");
		else if (changes.n)
			debug_note("explain", "%s would run: it changed since it completed:", n->name);
		else if (n->stepkind == STEP_MANUAL && st == ST_NOTRUN && strcmp(state_reason(n), "waiting for approval") == 0)
			debug_note("explain", "%s waits for approval ('orch --approve %s')", n->name, n->name);
		else if (n->stepkind == STEP_MANUAL && st == ST_NOTRUN)
			debug_note("explain", "%s waits for approval ('orch --approve %s'): %s", n->name, n->name,
			           state_reason(n));
		else
			debug_note("explain", "%s would run: %s", n->name, state_reason(n));
		for (size_t k = 0; k < changes.n; k++) {
			debug_note("explain", "  %s", (char *)changes.v[k]);
			free(changes.v[k]);
		}
		vec_free(&changes);
	}
}

static void print_stats(void)
{
	static const char *names[] = {"orchfile", "journal", "signatures", "run"};
	int64_t v[] = {stats.orchfile, stats.journal, stats.signatures, stats.run};

	for (size_t i = 0; i < 4; i++)
		debug_note("stats", "%-10s %6lld ms", names[i], (long long)v[i]);
	debug_note("stats", "%-10s %6lld ms", "total", (long long)(now_ms() - stats.start));
}

/* -n: the run would refuse applied steps that changed, and run nothing: say so. */
static bool dry_refused(struct graph *g, struct node **t, size_t nt)
{
	graph_clearmarks(g);
	graph_select(g, nt ? t : NULL, nt, MARK_SELECTED);
	if (!registry_refuse_changed(g, MARK_SELECTED, false))
		return false;
	printf("nothing would run: applied steps changed (see above)\n");
	return true;
}

/* -n --sql: what each SQL step that would run sends, in order. */
static int show_sql(struct graph *g, struct vec *pending)
{
	int status = EXIT_DONE;

	for (size_t i = 0; i < pending->n; i++) {
		struct node *n = pending->v[i];
		struct buf b = {0};
		char *err;

		if (n->kind != NODE_STEP || n->stepkind != STEP_SQL)
			continue;
		if (pg_sql(g, n, PG_APPLY, state_signature(n), &b, &err) < 0) {
			error("%s: %s", n->name, err);
			free(err);
			status = EXIT_FAILED;
		} else {
			printf("\n%s", buf_str(&b));
		}
		buf_free(&b);
	}
	return status;
}

static int run(struct graph *g, struct options *o)
{
	struct node **t = resolve_targets(g, o->targets, o->ntargets);
	struct runopts ro = run_options(g, o);
	struct vec pending = {0};
	struct node *due;
	bool readonly = o->dryrun || o->question;
	struct journal *j;
	int64_t t0;
	int status, registry_rc = 0;

	enter_plan_dir(g);
	/* -n and -q: no lock, nothing created or written */
	t0 = now_ms();
	j = journal_open(g, readonly ? 0 : JOURNAL_LOCK | JOURNAL_CREATE);
	stats.journal = now_ms() - t0;
	t0 = now_ms();
	state_load(g, j);
	stats.signatures = now_ms() - t0;
	t0 = now_ms();
	/* -n and -q ask the database as the run will, of the databases of the steps it
	 * would run (a run does it itself, under its lock) */
	if (readonly) {
		graph_clearmarks(g);
		graph_select(g, o->ntargets ? t : NULL, o->ntargets, MARK_SELECTED);
		registry_rc = registry_reconcile(g, j, NULL, true, false);
		if (o->dryrun)
			registry_warn_no_database(g);
	}
	if (o->explain || o->question || o->sql)
		show_pending(g, t, o->ntargets, &pending);
	if (o->explain)
		explain(&pending);
	if (o->question)
		status = pending.n || registry_rc ? EXIT_FAILED : EXIT_DONE;
	else if (o->dryrun && (registry_rc || dry_refused(g, t, o->ntargets)))
		status = EXIT_FAILED;
	else if (o->dryrun)
		status = show_dry(g, t, o->ntargets);
	else
		status = run_targets(g, j, t, o->ntargets, &ro);
	if (o->sql && status == EXIT_DONE)
		status = show_sql(g, &pending);
	if (j && (due = run_take_rollback())) {
		/* a hold failed with on_fail = rollback: the rollback machinery, unasked */
		struct rollbackopts rb = {.yes = true};
		int rc;

		info("%s: on_fail = rollback %s: rolling it back", "the hold failed", due->name);
		rc = rollback_target(g, j, due, &rb, &ro);
		if (rc != EXIT_DONE)
			status = rc;
	}
	registry_free();
	pg_close_all();
	if (j)
		journal_close(j);
	stats.run = now_ms() - t0;
	if (o->stats)
		print_stats();
	vec_free(&pending);
	free(t);
	return status;
}

static int rollback(struct graph *g, struct options *o)
{
	struct node **t = resolve_targets(g, (char **)&o->arg, 1);
	struct runopts ro = run_options(g, o);
	struct rollbackopts rb = {o->dryrun, o->force, o->yes, NULL};
	struct journal *j;
	int status;

	if (o->to) {
		char *tag = xasprintf("@%s", o->to);

		/* a sqitch tag by its name alone (--to v1.0 for @v1.0) */
		if (graph_target(g, o->to, &rb.keep) < 0 && graph_target(g, tag, &rb.keep) < 0) {
			unknown_target(g, "--to: ", o->to);
			exit(EXIT_USAGE);
		}
		free(tag);
		if (!rb.keep)
			usage_error("%s", "--to all keeps everything: name a tag, step or milestone");
	}

	enter_plan_dir(g);
	j = journal_open(g, o->dryrun ? 0 : JOURNAL_LOCK);
	if (!j) {
		printf("orch: nothing to roll back: nothing has run yet\n");
		free(t);
		return EXIT_DONE;
	}
	state_load(g, j);
	if (o->action == ACT_RESTORE && !t[0])
		usage_error("%s", "--restore takes one step, not all");
	status = o->action == ACT_RESTORE ? rollback_restore(g, j, t[0], &rb, &ro) : rollback_target(g, j, t[0], &rb, &ro);
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
	registry_reconcile(g, j, NULL, false, false);
	status = status_show(g, j, o->json, jobs_of(g, o));
	registry_free();
	pg_close_all();
	if (j)
		journal_close(j);
	return status;
}

/* --check: transaction control that would end orch's transaction, in the SQL files of
 * transactional steps that exist (a wrapper of the whole file is welcome); how many. */
static int check_sql(struct graph *g)
{
	int bad = 0;

	for (size_t i = 0; i < g->steps.n; i++) {
		struct node *n = g->steps.v[i];
		const char *files[3] = {n->sql, n->x->sql_verify, n->x->sql_rollback};

		for (size_t k = 0; k < 3 && n->stepkind == STEP_SQL && n->transaction; k++) {
			struct sqlfile f;
			const struct sqlstmt *st;
			char *err = NULL;
			int line, col;
			size_t ls;

			if (!files[k] || access(files[k], F_OK) != 0)
				continue; /* a missing file is the run's to report */
			if (sqlfile_read(NULL, files[k], &f, &err) < 0) {
				error("%s", err);
				free(err);
				bad++;
				continue;
			}
			if ((st = sqlfile_txstmt(&f))) {
				sqlfile_linecol(&f, st->start, &line, &col, &ls);
				error("%s:%d: %s ends orch's transaction: remove it, or set transaction = no (step %s)", files[k], line,
				      st->word[0], n->name);
				bad++;
			}
			sqlfile_free(&f);
		}
	}
	return bad;
}

/* --check: the Orchfile loaded; now the journal, the SQL files, and applied SQL that
 * changed. */
static int check(struct graph *g)
{
	const char *file = g->file;
	int status;

	enter_plan_dir(g);
	if (check_sql(g))
		return EXIT_USAGE;
	status = action_check_journal(g);
	if (status == EXIT_DONE)
		printf("%s: ok: %u step%s, %u phase%s, %u milestone%s, %u pool%s\n", file, g->steps.n,
		       g->steps.n == 1 ? "" : "s", g->phases.n, g->phases.n == 1 ? "" : "s", g->milestones.n,
		       g->milestones.n == 1 ? "" : "s", g->pools.n, g->pools.n == 1 ? "" : "s");
	return status;
}

static int graph_dot(struct graph *g, struct options *o)
{
	struct node **t = resolve_targets(g, o->targets, o->ntargets);

	const char **words = NULL;
	struct journal *j = NULL;

	if (o->state) { /* read-only, like --status */
		enter_plan_dir(g);
		j = journal_open(g, 0);
		state_load(g, j);
		registry_reconcile(g, j, NULL, false, false);
		words = status_words(g, j);
	}
	if (o->ntargets)
		graph_select(g, t, o->ntargets, MARK_SELECTED);
	show_dot(g, o->ntargets ? MARK_SELECTED : MARK_NONE, stdout, words);
	free(words);
	registry_free();
	pg_close_all();
	if (j)
		journal_close(j);
	free(t);
	return EXIT_DONE;
}

/* --force TARGET...: the steps of each target, each once, in the order named: a step;
 * a phase's steps; a milestone's steps and what they need; all, every step. The names
 * are all checked first: nothing is recorded when one is wrong. */
static int force(struct graph *g, struct options *o)
{
	bool *taken = xcalloc(g->nodes.n ? g->nodes.n : 1, sizeof(*taken));
	struct vec names = {0};
	int bad = 0, status;

	for (size_t i = 0; i < o->ntargets; i++) {
		struct node *t;

		if (graph_target(g, o->targets[i], &t) < 0) {
			unknown_target(g, "--force: ", o->targets[i]);
			bad++;
			continue;
		}
		if (t && t->kind == NODE_STEP) {
			if (!taken[t->id])
				taken[t->id] = true, vec_push(&names, t->name);
			continue;
		}
		if (t && t->kind == NODE_PHASE) {
			for (size_t k = 0; k < t->x->steps.n; k++) {
				struct node *n = t->x->steps.v[k];

				if (!taken[n->id])
					taken[n->id] = true, vec_push(&names, n->name);
			}
			continue;
		}
		graph_clearmarks(g);
		graph_select(g, t ? &t : NULL, t ? 1 : 0, MARK_SELECTED);
		for (size_t k = 0; k < g->steps.n; k++) {
			struct node *n = g->steps.v[k];

			if (n->mark == MARK_SELECTED && !taken[n->id])
				taken[n->id] = true, vec_push(&names, n->name);
		}
	}
	free(taken);
	if (bad) {
		vec_free(&names);
		return EXIT_USAGE;
	}
	if (!names.n) {
		printf("nothing to force: %s has no steps\n", o->targets[0]);
		vec_free(&names);
		return EXIT_DONE;
	}
	enter_plan_dir(g);
	status = action_force(g, (char **)names.v, names.n);
	vec_free(&names);
	return status;
}

/* --trace FILE, --report [FILE]: read-only, like --status. FILE is relative to the
 * working directory; the report's default is in the plan's state directory. */
static int write_trace(struct graph *g, struct options *o, bool report)
{
	char *cwd = getcwd(NULL, 0), *path;
	struct journal *j;
	int status;

	if (!cwd)
		fatal("cannot tell the working directory:");
	if (!*o->arg) {
		char *dir = xasprintf("%s/%s", g->dir, g->statedir);

		if (os_mkdirs(dir, 0755) < 0)
			fatal("cannot create %s:", dir);
		free(dir);
		path = xasprintf("%s/%s/report.html", g->dir, g->statedir);
	}
	else
		path = o->arg[0] == '/' ? xstrdup(o->arg) : xasprintf("%s/%s", cwd, o->arg);
	enter_plan_dir(g);
	j = journal_open(g, 0);
	state_load(g, j);
	registry_reconcile(g, j, NULL, false, false);
	status = report ? report_write(g, j, path, false) : trace_write(g, j, path);
	registry_free();
	pg_close_all();
	if (j)
		journal_close(j);
	free(path);
	free(cwd);
	return status;
}

/* Whether PATH (absolute) is the plan's [orch] changelog: the same file, or when there
 * is none yet, the same name in the same directory. */
static bool names_plan_changelog(struct graph *g, const char *path)
{
	char *own, *a, *b;
	struct stat x, y;
	bool same = false;

	if (!g->changelog)
		return false;
	own = g->changelog[0] == '/' ? xstrdup(g->changelog) : xasprintf("%s/%s", g->dir, g->changelog);
	if (stat(path, &x) == 0 && stat(own, &y) == 0) {
		same = x.st_dev == y.st_dev && x.st_ino == y.st_ino;
	} else if (strcmp(strrchr(path, '/'), strrchr(own, '/')) == 0) {
		a = xstrdup(path), b = xstrdup(own);
		*strrchr(a, '/') = *strrchr(b, '/') = '\0';
		same = stat(*a ? a : "/", &x) == 0 && stat(*b ? b : "/", &y) == 0 && x.st_dev == y.st_dev &&
		       x.st_ino == y.st_ino;
		free(a);
		free(b);
	}
	free(own);
	return same;
}

/* --changelog [FILE]: the changelog made again from the journal, into FILE (relative to
 * the working directory) or the plan's own, which an orch running the plan keeps itself. */
static int write_changelog(struct graph *g, struct options *o)
{
	char *cwd = getcwd(NULL, 0), *path;
	struct journal *j;
	long holder;
	int rc;

	if (!cwd)
		fatal("cannot tell the working directory:");
	if (!*o->arg && !g->changelog) {
		error("the plan keeps no changelog ([orch] changelog = none): name a file, orch --changelog FILE");
		free(cwd);
		return EXIT_USAGE;
	}
	if (*o->arg)
		path = o->arg[0] == '/' ? xstrdup(o->arg) : xasprintf("%s/%s", cwd, o->arg);
	else /* relative to the plan: named so from here when here is elsewhere */
		path = g->changelog[0] == '/' || strcmp(cwd, g->dir) == 0 ? xstrdup(g->changelog)
		                                                          : xasprintf("%s/%s", g->dir, g->changelog);
	/* the plan's own, named or not: the running orch writes it (and its .tmp) */
	if ((!*o->arg || names_plan_changelog(g, path)) && (holder = journal_lock_holder(g)) != 0) {
		error("another orch (pid %ld) is running this plan: it writes %s itself at its end", holder, g->changelog);
		free(path);
		free(cwd);
		return EXIT_LOCKED;
	}
	enter_plan_dir(g);
	j = journal_open(g, 0);
	rc = changelog_write(g, j, path, false);
	if (j)
		journal_close(j);
	free(path);
	free(cwd);
	return rc == 0 ? EXIT_DONE : rc == -2 ? EXIT_JOURNAL : EXIT_FAILED;
}

/* The changelog after an action that wrote the journal (a run keeps it itself), unless
 * another orch runs the plan now (it does). */
static void keep_changelog(struct graph *g)
{
	struct journal *j;

	if (!g->changelog || journal_lock_holder(g) != 0)
		return;
	enter_plan_dir(g);
	if ((j = journal_open(g, 0))) {
		changelog_write(g, j, NULL, true);
		journal_close(j);
	}
}

static int baseline(struct graph *g, struct options *o)
{
	struct node **t = resolve_targets(g, (char **)&o->arg, 1);
	int status;

	enter_plan_dir(g);
	status = action_baseline(g, t[0], o->reason, o->yes, o->dryrun);
	free(t);
	return status;
}

/* [orch] report after an action that wrote the journal (a run keeps it itself). */
static void keep_report(struct graph *g)
{
	struct journal *j;

	enter_plan_dir(g);
	state_free(g);
	j = journal_open(g, 0);
	state_load(g, j);
	registry_reconcile(g, j, NULL, false, false); /* as --report says it */
	report_write(g, j, g->report, true);
	registry_free();
	pg_close_all();
	if (j)
		journal_close(j);
}

static void tool_list(void)
{
	printf("orch tools (-t TOOL):\n");
	for (size_t i = 0; i < NELEM(tools); i++) {
		char use[32];

		snprintf(use, sizeof(use), "%s %s", tools[i].name, tools[i].args);
		printf("  %-20s %s\n", use, tools[i].help);
	}
}

static int tool(struct graph *g, struct options *o)
{
	struct node **t = NULL;
	int status = EXIT_DONE;

	switch (o->tool) {
	case TOOL_LIST:
		tool_list();
		return EXIT_DONE;
	case TOOL_TARGETS:
		show_targets(g, stdout);
		return EXIT_DONE;
	case TOOL_COMMANDS:
		t = resolve_targets(g, o->targets, o->ntargets);
		show_commands(g, t, o->ntargets, stdout);
		break;
	case TOOL_QUERY:
		t = resolve_targets(g, o->targets, o->ntargets);
		for (size_t i = 0; i < o->ntargets && status == EXIT_DONE; i++) {
			if (!t[i]) {
				error("-t query: 'all' is the whole plan; query a step, phase or milestone");
				status = EXIT_USAGE;
			}
		}
		for (size_t i = 0; i < o->ntargets && status == EXIT_DONE; i++)
			show_query(g, t[i], stdout);
		break;
	case TOOL_CLEAN:
		t = resolve_targets(g, o->targets, o->ntargets);
		enter_plan_dir(g);
		status = clean_outputs(g, t, o->ntargets, o->dryrun);
		break;
	}
	free(t);
	return status;
}

int main(int argc, char **argv)
{
	struct options o = {0};
	struct graph *g;
	int status = EXIT_USAGE;

	argv[0] = (char *)argv0; /* getopt's messages start with it: "orch: ..." */
	os_stdfds();
	log_level_from_env();
	stats.start = now_ms();
	parse_options(argc, argv, &o);
	if (o.action == ACT_TOOL && o.tool == TOOL_LIST) {
		tool_list(); /* needs no Orchfile, like --help */
		return EXIT_DONE;
	}
	if (o.dir && chdir(o.dir) < 0)
		fatal("cannot change to %s:", o.dir);
	stats.orchfile = now_ms();
	g = load(&o);
	stats.orchfile = now_ms() - stats.orchfile;
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
	case ACT_RESTORE:
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
		status = force(g, &o);
		break;
	case ACT_RESET:
		enter_plan_dir(g);
		status = action_reset(g, o.yes, o.database);
		break;
	case ACT_ACCEPT:
		enter_plan_dir(g);
		status = action_accept(g, o.arg, o.reason);
		break;
	case ACT_BASELINE:
		status = baseline(g, &o);
		break;
	case ACT_TRACE:
		status = write_trace(g, &o, false);
		break;
	case ACT_REPORT:
		status = write_trace(g, &o, true);
		break;
	case ACT_CHANGELOG:
		status = write_changelog(g, &o);
		break;
	case ACT_PROMOTE:
	case ACT_ABORT:
		enter_plan_dir(g);
		status = action_endhold(g, o.arg, o.action == ACT_PROMOTE, o.reason);
		break;
	case ACT_TOOL:
		status = tool(g, &o);
		break;
	case ACT_STATE_EXPORT:
		enter_plan_dir(g);
		status = action_state_export(g, o.arg);
		break;
	case ACT_WORKER:
		enter_plan_dir(g);
		status = claims_worker(g, o.labels, o.jobs ? o.jobs : 1);
		break;
	case ACT_STATE_IMPORT:
		enter_plan_dir(g);
		status = action_state_import(g);
		break;
	case ACT_TEST_ROLLBACK: {
		struct node **t = resolve_targets(g, o.targets, o.ntargets);
		struct runopts ro = run_options(g, &o);

		ro.interactive = false;
		ro.onfailure = ONFAIL_STOP;
		status = scratch_test_rollback(g, t, o.ntargets, &ro);
		free(t);
		break;
	}
	}
	/* after an action that wrote the journal: a dry one (-n --baseline) wrote nothing */
	if (g->report && status == EXIT_DONE && !o.dryrun &&
	    (o.action == ACT_APPROVE || o.action == ACT_SKIP || o.action == ACT_FORCE || o.action == ACT_RESET ||
	     o.action == ACT_ACCEPT || o.action == ACT_BASELINE))
		keep_report(g);
	if (status == EXIT_DONE && !o.dryrun &&
	    (o.action == ACT_APPROVE || o.action == ACT_SKIP || o.action == ACT_FORCE || o.action == ACT_RESET ||
	     o.action == ACT_ACCEPT || o.action == ACT_BASELINE || o.action == ACT_PROMOTE || o.action == ACT_ABORT))
		keep_changelog(g);
	notify_finish(g);
	/* A closed pipe (`orch | head -1`) is no failure of the plan, which went on and
	 * is in the journal: its status stands, with a word on stderr. */
	if ((fflush(stdout) != 0 || ferror(stdout)) && !os_stdout_lost())
		fatalx(EXIT_FAILED, "writing output:");
	if (os_stdout_lost())
		warn("standard output was closed; the plan went on (see orch --status)");
	return status;
}
