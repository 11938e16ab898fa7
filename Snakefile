from snakemake.utils import min_version

from deeplense.workflow import plan

min_version("9.0")


# The default experiment, unless the user names their own with --configfile (Snakemake would
# otherwise merge the two, silently adding the default's datasets to every custom run).
if not workflow.overwrite_configfiles:

    configfile: "config.yaml"


# The pydantic model is the config's single source of truth; a bad field stops here, before any job.
CFG = plan.load_or_exit(config)


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/simulate.smk"
include: "workflow/rules/store.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/targets.smk"


rule all:
    default_target: True
    input:
        all_outputs(),
