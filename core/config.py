"""Typed config schemas, registered in Hydra's ConfigStore; YAML files in ``conf/`` extend them.

Every field is a command-line override, e.g. ``algo.lr=1e-5 task.max_prompts=64``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING

from core.sandbox.config import SandboxConfig

__all__ = ["RewardEntry", "TaskConfig", "AlgoConfig", "ModelConfig", "LoraConfig", "EvalConfig", "RunConfig",
           "register_schemas"]


def _help(text: str, default: Any = MISSING, **kwargs: Any) -> Any:
    """A dataclass field with TRL-style ``metadata={"help": ...}``."""
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda d=default: type(d)(d), metadata={"help": text}, **kwargs)
    return field(default=default, metadata={"help": text}, **kwargs)


@dataclass
class RewardEntry:
    """One component of the composed reward."""

    name: str = _help("Registered reward name (see `python -m core.rewards`).")
    weight: float = _help("Multiplier of this component in the total reward.", 1.0)
    args: dict[str, Any] = _help("Keyword arguments bound to the reward function.", {})


@dataclass
class TaskConfig:
    """Settings every task has; a task's own schema subclasses this."""

    name: str = _help("Task name, as listed by `python -m core.tasks`.")
    max_prompts: int | None = _help("Cap on training prompts (None: all).", None)
    eval_prompts: int | None = _help("Held-out prompts used for evaluation (None: all).", 64)
    seed: int = _help("Seed of the train/held-out split and of generated data.", 0)
    system_prompt: str | None = _help("System message for every prompt; each task applies it (rlft core does not), "
                                      "None: the task's default.", None)
    rewards: list[RewardEntry] = _help("Reward components: name, weight, args.", [])
    evaluators: list[str] = _help("Held-out evaluators run before and after training.", [])
    metric: str | None = _help("The headline held-out metric (e.g. 'qa/f1'): learning curves, verdicts, reports. "
                               "None: reward/total.", None)


@dataclass
class AlgoConfig:
    """RL algorithm settings shared by all algorithms."""

    name: str = _help("Algorithm: grpo, rloo, dpo (TRL); ppo, reinforce, dqn, sac (rlft's own).")
    lr: float = _help("Peak learning rate.", 1e-5)
    max_steps: int = _help("Optimizer steps to train.", 16)
    prompts_per_step: int = _help("Distinct prompts per optimizer step (across all devices).", 2)
    num_generations: int = _help("Completions sampled per prompt (the group size).", 8)
    max_completion_length: int = _help("Maximum new tokens per sampled completion.", 32)
    stop_strings: list[str] = _help("End a sampled completion once it ends with one of these strings (kept in the "
                                    "text), e.g. a closing code fence; saves the tokens a model would add after it.",
                                    [])
    temperature: float = _help("Sampling temperature during training.", 1.0)
    top_p: float = _help("Nucleus sampling during training.", 1.0)
    beta: float = _help("KL penalty coefficient against the reference model (0: no reference model).", 0.0)
    epsilon: float = _help("Clipping range of the policy ratio.", 0.2)
    num_iterations: int = _help("Policy updates per generated batch (mu).", 1)
    gradient_accumulation_steps: int = _help("Micro-batches per optimizer step.", 1)
    max_grad_norm: float = _help("Gradient clipping norm.", 1.0)
    warmup_steps: float = _help("Linear warm-up steps (a value below 1 is a fraction of max_steps).", 0.0)
    lr_scheduler_type: str = _help("transformers scheduler name.", "constant")
    weight_decay: float = _help("AdamW weight decay.", 0.0)
    optim: str = _help("Optimizer, by transformers' `TrainingArguments.optim` name, for every algorithm (TRL's and "
                       "rlft's own): 'adamw_torch_fused' (one fused kernel per step), "
                       "'adamw_torch' (foreach), 'adafactor', 'adamw_8bit' (bitsandbytes)...", "adamw_torch_fused")
    reward_normalization: str = _help(
        "How components combine: 'raw' (weighted sum, then group advantage) or 'zscore' "
        "(each component z-scored within its group, then summed).", "raw")
    skip_zero_variance_groups: bool = _help(
        "GRPO/RLOO dynamic sampling (DAPO): drop groups whose completions all earned the same reward, which "
        "carry no policy gradient; logged as dynamic_sampling/skipped.", True)
    logging_steps: int = _help("Log every N steps.", 1)
    save_steps: int = _help("Checkpoint every N steps (0: only the final model); written atomically.", 0)
    keep_checkpoints: int = _help("Checkpoints kept (the newest); older ones are deleted.", 2)
    bf16: bool | None = _help("bfloat16 mixed precision; None: on where the hardware supports it (recent GPUs, "
                              "CPUs with AVX512-BF16 or AMX).", None)
    gradient_checkpointing: bool = _help("Trade compute for memory during training.", False)
    trim_heap: bool = _help("Hand glibc's freed heap pages back to the OS after every micro-batch (core.memory."
                            "trim_heap): a lower peak, for longer steps (dialogue 4.05 -> 3.83 GiB; news's steps "
                            "1.24x as long).", False)
    trl: dict[str, Any] = _help("Extra keyword arguments for the TRL config, e.g. +algo.trl.loss_type=dr_grpo.", {})


@dataclass
class LoraConfig:
    """LoRA adapter settings (used when model.peft=lora)."""

    r: int = _help("Adapter rank.", 16)
    alpha: int = _help("LoRA scaling alpha.", 32)
    dropout: float = _help("Dropout on adapter inputs.", 0.0)
    target_modules: list[str] = _help("Module names to adapt ('all-linear' for every linear layer).", ["all-linear"])


@dataclass
class ModelConfig:
    """Which causal LM to fine-tune, and how."""

    name_or_path: str = _help("'embedded:smollm2-135m', 'embedded:tiny', a Hugging Face id or a local directory.")
    peft: str | None = _help("Parameter-efficient method: null (full fine-tuning) or 'lora'.", None)
    adapter: str = _help("Starting from a saved LoRA adapter (another run's output): 'merge' it into its base model, "
                         "or 'continue' training that adapter.", "merge")
    lora: LoraConfig = field(default_factory=LoraConfig, metadata={"help": "LoRA settings."})
    dtype: str = _help("Weights dtype: float32, bfloat16, float16 or auto.", "float32")
    attn_implementation: str | None = _help(
        "Attention kernel: null (transformers' default, sdpa), 'eager', or another transformers implementation. "
        "'eager' makes CPU training bit-reproducible: sdpa's multi-threaded CPU backward can sum a gradient in a "
        "thread-timing-dependent order.", None)
    revision: str | None = _help("Hub revision (branch, tag or commit).", None)
    trust_remote_code: bool = _help("Allow model code from the Hub.", False)
    cache_dir: str | None = _help("Where embedded models are cached (default: $RLFT_CACHE or ~/.cache/rlft).", None)


@dataclass
class EvalConfig:
    """Held-out evaluation before, during and after training."""

    enabled: bool = _help("Evaluate the base and the trained model on the held-out split.", True)
    max_new_tokens: int = _help("Maximum new tokens per evaluation completion.", 48)
    stop_strings: list[str] = _help("End a completion once it ends with one of these strings (as algo.stop_strings).",
                                    [])
    num_samples: int = _help("Completions per held-out prompt and seed (pass@k needs k or more).", 1)
    seeds: list[int] = _help("Sampling seeds; each adds num_samples completions per prompt (needs temperature > 0).",
                             [0])
    temperature: float = _help("0 for greedy decoding, else the sampling temperature.", 0.0)
    batch_size: int = _help("Prompts per generation batch.", 32)
    cache: bool = _help("Reuse the base model's before-training completions from an earlier run with the same weights, "
                        "held-out prompts, sampling settings, hardware and versions (kept in $RLFT_EVAL_CACHE, default "
                        "~/.cache/rlft/eval); they are scored again. false: sample them in every run.", True)
    bf16: bool | None = _help("Sample, and score perplexity under the base model, in bfloat16 autocast (log-probs "
                              "stay float32); None: where the hardware has fast bf16, as algo.bf16.", None)
    every: int = _help("Also evaluate every N training steps (0: only before and after); gives the learning curve.",
                       0)
    language_quality: bool = _help("Report quality/* metrics: base-model perplexity, distinct-n, repetition, length.",
                                   True)
    interpret: bool = _help("Write interpret.json: which tokens training made more or less likely (report).", True)
    confidence: float = _help("Confidence level of every interval.", 0.95)
    bootstrap_resamples: int = _help("Bootstrap resamples per interval (over held-out prompts).", 2000)
    bootstrap_seed: int = _help("Seed of the bootstrap resampling.", 0)
    max_perplexity_increase: float = _help(
        "Flag possible reward hacking when the task metric improves while completion perplexity under the base "
        "model rises by more than this fraction.", 0.2)


@dataclass
class RunConfig:
    """The root config: one task (or a mixture of tasks), one algorithm, one model."""

    task: Any = _help("The task (a task plugin's schema), or with task=[qa,sentiment] the mixture "
                      "(core.mixture.MixtureConfig: weights, shared caps).")
    tasks: dict[str, Any] = _help("Multi-task runs only: each task's config by name (tasks.qa.max_prompts=...).", {})
    algo: AlgoConfig = _help("The RL algorithm.")
    model: ModelConfig = _help("The policy model.")
    eval: EvalConfig = field(default_factory=EvalConfig, metadata={"help": "Held-out evaluation."})
    sandbox: SandboxConfig = field(default_factory=SandboxConfig,
                                   metadata={"help": "Limits for running generated code (core.sandbox)."})
    seed: int = _help("Global seed of training.", 42)
    output_dir: str = _help("Where the model, metrics.json, samples.jsonl and logs go.", "${hydra:runtime.output_dir}")
    save_model: bool = _help("Save the final model (full weights or the LoRA adapter).", True)
    report_to: list[str] = _help("Trainer loggers (tensorboard, wandb, none).", ["tensorboard"])
    resume: Any = _help("Continue a run from its newest checkpoint: true (in output_dir, or start fresh if it has "
                        "none), or a run directory / checkpoint-N path (then that run's directory is used).", None)


def register_schemas() -> None:
    """Store the schemas that ``conf/*.yaml`` extend via their defaults lists."""
    cs = ConfigStore.instance()
    cs.store(name="rlft_schema", node=RunConfig)
    cs.store(group="algo", name="algo_schema", node=AlgoConfig)
    from core.algos.dpo import DPOAlgoConfig  # imported here: core.algos imports this module

    cs.store(group="algo", name="dpo_schema", node=DPOAlgoConfig)
    cs.store(group="model", name="model_schema", node=ModelConfig)
