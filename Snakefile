from snakemake.utils import min_version

from snakemake.logging import logger

from deeplense.workflow import node_limits, plan

min_version("9.0")


# The default experiment, unless the user names their own with --configfile (Snakemake would
# otherwise merge the two, silently adding the default's datasets to every custom run).
# `workflow.overwrite_configfiles` (the --configfile paths) is the only way a Snakefile can tell:
# Snakemake's public alternative, --replace-workflow-config, is a flag every user would have to
# remember, and forgetting it would merge the configs silently.
if not workflow.overwrite_configfiles:
    # Snakemake's own message for a broken YAML file would not name it.
    plan.read_yaml_or_exit("config.yaml")

    configfile: "config.yaml"


# The pydantic model is the config's single source of truth; a bad field stops here, before any
# job, naming the file. Job processes skip building each model: the main process did.
CFG = plan.load_or_exit(
    config,
    workflow.overwrite_configfiles or ["config.yaml"],
    workflow.config_settings.config,
    build_models=workflow.is_main_process,
)

# SLURM leaves a job that asks for more CPUs than a node has pending forever. The SLURM profile's
# max-threads (the CPUs of one node) caps every job's threads; say which models that slows down,
# and what to change, before any job is submitted.
if workflow.is_main_process:
    max_threads = workflow.resource_settings.max_threads
    for message in node_limits.thread_warnings(CFG, max_threads):
        logger.warning(f"deeplense: {message}")


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/simulate.smk"
include: "workflow/rules/store.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/search.smk"
include: "workflow/rules/predict.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/targets.smk"


rule all:
    default_target: True
    input:
        all_outputs(),
