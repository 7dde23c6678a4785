"""The paper-to-code table: each equation, Algorithm 1 step and setting of the CLIP-AAC paper next to
what we do, the library symbol that does it and the test that checks it.

Repository data, not part of the installed package (only ``devtools`` and the tests read it).
:data:`ROWS` is the only copy of the table; ``devtools/paper_to_code.py`` renders
the book page ``book/paper_to_code.md`` from it (``python -m devtools.paper_to_code
book/paper_to_code.md``; ``--check`` exits 1 when the page is out of date). A row whose ``paper`` starts with :data:`SILENT` is an open choice: the paper
does not say, or says it ambiguously (the quote follows), and ``ours`` gives our default and the reason for it.

:func:`resolve` turns a row's ``code`` (a dotted path such as ``clipaac_lib.model.losses.contrastive_loss`` or
``clipaac_lib.train.config.TrainConfig.lam``) into the object.

Page: ``book/paper_to_code.md``.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
from dataclasses import dataclass
from types import ModuleType
from typing import Any

__all__ = ["SILENT", "DEVIATION", "Row", "ROWS", "resolve"]

#: How ``Row.paper`` marks an open choice.
SILENT = "**silent**"
#: How ``Row.paper`` marks a place where we knowingly do something other than the paper says.
DEVIATION = "**deviation**"


@dataclass(frozen=True)
class Row:
    """One line of the table. ``section``: the paper's section; ``paper``: a few words quoted from the
    paper, or :data:`SILENT` (optionally followed by the ambiguous quote); ``ours``: our choice in one
    sentence; ``code``: the dotted path of what implements it; ``test``: ``tests/FILE.py::test_name``.

    Page: ``book/paper_to_code.md``.
    """

    item: str
    section: str
    paper: str
    ours: str
    code: str
    test: str

    @property
    def is_open(self) -> bool:
        """True for an open choice (the paper is silent or ambiguous)."""
        return self.paper.startswith(SILENT)

    @property
    def is_deviation(self) -> bool:
        """True where we do something other than what the paper says (``ours`` says why)."""
        return self.paper.startswith(DEVIATION)


_TC = "clipaac_lib.train.config.TrainConfig."
_LOSS = "clipaac_lib.model.losses."
_MODEL = "clipaac_lib.model.clipaac.CLIPAAC."
_T_LOSS = "tests/test_losses.py::"
_T_CFG = "tests/test_train_config.py::"
_T_KNOB = "tests/test_train_knobs.py::"
_T_ESR = "tests/test_model_esresnext.py::"
_T_MODEL = "tests/test_model_clipaac.py::"
_T_DEC = "tests/test_model_decoder.py::"
_T_DECODE = "tests/test_train_decode.py::"

ROWS: tuple[Row, ...] = (
    # ---------------------------------------------------------------- 2.1 the encoder's two heads
    Row("Audio head: ESResNeXt", "2.1", '"we employ the ESResNeXt [14] model"',
        "AudioCLIP's ESResNeXt-fbsp, rewritten with its parameter names so that its checkpoint loads.",
        "clipaac_lib.model.esresnext.ESResNeXtFBSP", _T_ESR + "test_audio_head_state_dict_is_audioclip_layout"),
    Row("Time-frequency transform", "2.1",
        f'{DEVIATION} — "log-power spectrogram using Short-Time Fourier Transform"',
        "Not a fixed STFT: AudioCLIP's learnable frequency B-spline (fbsp) transform, a DFT at initialisation "
        "that then trains with the network. Why: the pre-trained ESResNeXt-fbsp [14] the paper starts from "
        "was trained with it, and its weights include the transform's.",
        "clipaac_lib.model.frontend.LinearFBSP",
        "tests/test_model_frontend.py::test_fbsp_at_initialisation_is_a_fourier_transform"),
    Row("Log-power spectrogram", "2.1", '"converted to a log-power spectrogram"',
        "10 log10 of the power (zeros floored at 1e-18), the bins split into 3 bands stacked as image channels, "
        "as in AudioCLIP.",
        "clipaac_lib.model.frontend.log_power_bands",
        "tests/test_model_frontend.py::test_log_power_bands_split_and_zero_floor"),
    Row("Front-end settings: sample rate, window, hop, FFT size", "2.1", SILENT,
        "AudioCLIP's, so that the pre-trained weights see the input they were trained on: 44.1 kHz, a Blackman-Harris "
        "window of 1654 samples, hop 561, n_fft 2048 (small model: 16 kHz, 480, 240, 512).",
        "clipaac_lib.model.config.AudioConfig", _T_ESR + "test_paper_head_on_one_second_gives_1024_d_embeddings"),
    Row("Stem: 7 × 7 convolution and batch normalisation", "2.1",
        '"kernel size of 7 × 7 and a batch normalization layer"',
        "A 7 × 7 stride-2 convolution, BatchNorm, ReLU and 3 × 3 max-pool: the ResNeXt stem of AudioCLIP.",
        "clipaac_lib.model.esresnext.ESResNeXtFBSP.stages",
        _T_ESR + "test_resnext_without_attention_equals_torchvision_resnext"),
    Row("Dual-path blocks", "2.1", '"4 dual-path blocks ... the two paths are multiplied"',
        "Four ResNeXt stages, each output multiplied by an attention map of the stage's input (max-pool, depthwise "
        "and pointwise convolution, BatchNorm, sigmoid), as in AudioCLIP's code.",
        "clipaac_lib.model.esresnext.Attention2d", _T_ESR + "test_attention_blocks_gate_each_stage_and_the_pooled_vector"),
    Row("Bottlenecks per block", "2.1", f'{DEVIATION} — "the first path contains 3 stacked bottlenecks"',
        "(3, 4, 6, 3) bottlenecks in the four blocks, ResNeXt-50 32x4d, not 3 in each. Why: it is the layout "
        "of the AudioCLIP checkpoint the paper initialises from; 3 in every block would not load it.",
        "clipaac_lib.model.config.AudioConfig.layers", _T_ESR + "test_paper_audio_head_has_32_1_million_parameters"),
    Row("Average pooling and a linear layer to L", "2.1", '"an average pooling layer and a linear layer"',
        "Global average pooling, gated by AudioCLIP's fifth attention map, then the linear layer `fc` to L.",
        "clipaac_lib.model.esresnext.ESResNeXtFBSP.pool",
        _T_ESR + "test_paper_head_on_one_second_gives_1024_d_embeddings"),
    Row("Embedding length L", "2.1", f'{SILENT} — "an embedding with a length of L"',
        "L = 1024, AudioCLIP's, so that its audio and text projections load (small model: 256).",
        "clipaac_lib.model.config.ModelConfig.embed_dim", _T_MODEL + "test_presets_follow_the_interface"),
    Row("Text head: 12-layer Transformer, final norm, linear to L", "2.1",
        '"a 12-layer Transformer ... a further normalization layer"',
        "CLIP's text transformer (width 512, 8 heads, BPE vocabulary, 77 tokens), its final LayerNorm and its "
        "projection to L.",
        "clipaac_lib.model.text.TextTransformer",
        "tests/test_model_text.py::test_text_head_has_clip_names_and_matches_open_clip"),
    Row("Which text feature is projected", "2.1", SILENT,
        "The feature at the end-of-text token, as in CLIP and AudioCLIP, so that the pre-trained projection applies.",
        "clipaac_lib.model.text.TextTransformer.forward",
        "tests/test_model_text.py::test_text_head_reads_the_end_of_text_position_only"),
    Row("Initialisation from AudioCLIP, image head removed", "2.1",
        '"initialized by AudioCLIP ... We remove the image-head"',
        "AudioCLIP-Full-Training.pt goes into the audio head, text head and temperature; `visual.*` is skipped "
        "and reported.",
        "clipaac_lib.pretrain.published.load_audioclip",
        "tests/test_pretrained.py::test_audioclip_layout_loads_every_tensor_into_its_parameter"),
    # ---------------------------------------------------------------- 2.2 contrastive learning, Algorithm 1
    Row("Algorithm 1, step 1: initialise both heads", "2.2",
        '"Initialize the parameters of audio-head ... and text-head"',
        "`init` = 'audio_text' (AudioCLIP, the default), 'audio' (ESResNeXt on AudioSet) or 'random'; the paper "
        "model downloads the published files, any other size loads the book's own pretraining; sha256 checked.",
        "clipaac_lib.pretrain.published.apply_init", "tests/test_pretrained.py::test_apply_init_downloads_and_loads"),
    Row("Algorithm 1, step 2: initialise the temperature", "2.2", '"Initialize temperature parameter t"',
        "A parameter `logit_scale_at` = log(1/t); 1/t = clamp(exp(logit_scale_at), 1, 100) as in AudioCLIP.",
        _MODEL + "logit_scale", _T_MODEL + "test_training_forward_returns_logits_embeddings_and_scale"),
    Row("Temperature: learned or fixed", "2.2",
        f'{DEVIATION} — "Initialize temperature parameter t" (a parameter, so learned)',
        "A parameter in the encoder's group, with 1/t clamped to [1, 100] as in AudioCLIP. From an AudioCLIP "
        "checkpoint it starts at 1/t = 100, the clamp's edge, where its gradient is exactly 0 (notebook 3): "
        "there it never moves, so in effect it is fixed. From t = 0.07 (other inits) it is learned.",
        _MODEL + "logit_scale", _T_LOSS + "test_the_temperature_gets_no_gradient_at_audioclips_clamp"),
    Row("Temperature: initial value", "2.2", f'{SILENT} — "Initialize temperature parameter t"',
        "t = 0.07, CLIP's initial value, unless an AudioCLIP checkpoint sets it.",
        _TC + "temperature_init", _T_KNOB + "test_temperature_init"),
    Row("Algorithm 1, step 3: embed each modality", "2.2", '"A_i = Audio_Enc(a_i), T_i = Text_Enc(t_i)"',
        "One forward pass gives the (b, L) audio and text embeddings of the batch and the decoder's logits.",
        _MODEL + "forward", _T_MODEL + "test_training_forward_returns_logits_embeddings_and_scale"),
    Row("Algorithm 1, step 4: audio-to-text loop", "2.2", '"cosine similarity between A_i and T_k"',
        "No loops: one (b, b) product of unit vectors, row i holds A_i against every T_k; cross-entropy over rows.",
        _LOSS + "contrastive_loss", _T_LOSS + "test_contrastive_loss_equals_algorithm_1"),
    Row("Algorithm 1, step 5: text-to-audio loop", "2.2", '"cosine similarity between T_i and A_k"',
        "The same matrix, transposed; cross-entropy over its rows.",
        _LOSS + "contrastive_loss", _T_LOSS + "test_lambda_one_and_zero_reduce_to_one_direction"),
    Row("Algorithm 1, step 6: return the contrastive loss", "2.2", '"Return the contrastive loss L_cl"',
        "A 0-d tensor: Eq. (5).",
        _LOSS + "contrastive_loss", _T_LOSS + "test_contrastive_loss_equals_algorithm_1"),
    Row("Eq. (1) cosine similarity of A_i and T_k", "2.2", '"A_i · (T_k)^T / (‖A_i‖ ‖T_k‖)"',
        "Both embeddings L2-normalised, multiplied as matrices, scaled by 1/t.",
        _LOSS + "contrastive_logits", _T_LOSS + "test_contrastive_loss_uses_cosine_similarity"),
    Row("Eq. (2) audio-to-text loss", "2.2", '"−log exp(⟨A_i, T_i⟩/t) / Σ_k exp(⟨A_i, T_k⟩/t)"',
        "`F.cross_entropy` of the rows of the logit matrix against its diagonal.",
        _LOSS + "contrastive_loss", _T_LOSS + "test_lambda_one_and_zero_reduce_to_one_direction"),
    Row("Eq. (3) cosine similarity of T_i and A_k", "2.2", '"T_i · (A_k)^T / (‖T_i‖ ‖A_k‖)"',
        "The transpose of Eq. (1)'s matrix (cosine similarity is symmetric), not computed twice.",
        _LOSS + "contrastive_logits", _T_LOSS + "test_contrastive_loss_equals_algorithm_1"),
    Row("Eq. (4) text-to-audio loss", "2.2", '"−log exp(⟨T_i, A_i⟩/t) / Σ_k exp(⟨T_i, A_k⟩/t)"',
        "`F.cross_entropy` of the rows of the transposed matrix against its diagonal.",
        _LOSS + "contrastive_loss", _T_LOSS + "test_lambda_one_and_zero_reduce_to_one_direction"),
    Row("Eq. (5) contrastive loss", "2.2", '"1/b Σ_i (λ L_i^{A→T} + (1 − λ) L_i^{T→A})"',
        "λ mean(A→T) + (1 − λ) mean(T→A); at λ = 0.5 half of AudioCLIP's sum of the two.",
        _LOSS + "contrastive_loss", _T_LOSS + "test_contrastive_loss_equals_algorithm_1"),
    Row("λ of Eq. (5)", "2.2", '"We set λ as 0.5"', "`lam` = 0.5.",
        _TC + "lam", _T_CFG + "test_defaults_are_the_papers_recipe"),
    Row("Two captions of one clip in a batch", "2.2", f'{SILENT} — "remaining b² − b mismatched pairs"',
        "Never: a batch holds one caption per clip, so every mismatched pair is a true negative; an epoch still "
        "covers every pair once.",
        "clipaac_lib.data.batching.NoSameClipBatchSampler",
        "tests/test_data_batching.py::test_sampler_never_repeats_a_clip_and_covers_every_pair_once"),
    Row("Negatives across GPUs", "2.2", f'{SILENT} — "in a minibatch of b pairs"',
        "With several processes (torchrun) the embeddings are gathered, so that b is the global batch, as on one GPU.",
        "clipaac_lib.model.losses.training_loss",
        "tests/test_train_ddp.py::test_two_processes_equal_one_process_with_the_same_global_batch"),
    # ---------------------------------------------------------------- 2.3 the decoder
    Row("Decoder layers", "2.3", '"such an operation ... is only repeated twice"',
        "2 blocks of masked self-attention, cross-attention to the audio and a feed-forward network.",
        "clipaac_lib.model.config.DecoderConfig.layers", _T_DEC + "test_paper_decoder_has_two_blocks_and_dropout_0_2"),
    Row("Masked self-attention", "2.3", '"P_θ(t_m | t_0, t_1, ..., t_{m−1}, A)"',
        "A causal mask: position m sees tokens 0..m only, so one call gives every next-word distribution of a "
        "caption (teacher forcing).",
        "clipaac_lib.model.decoder.DecoderBlock", _T_DEC + "test_decoder_is_causal"),
    Row("Decoder width, heads and norm placement", "2.3", SILENT,
        "The Transformer-base sizes of Vaswani et al.: width 512, 8 heads, feed-forward 2048, post-norm, "
        "sinusoidal positions (small model: 128, 4, 512).",
        "clipaac_lib.model.config.DecoderConfig",
        "tests/test_paper_to_code.py::test_paper_decoder_is_transformer_base"),
    Row("What the decoder attends to", "2.3", f'{SILENT} — "cross-attention layer to attentively fuse the audio embedding A"',
        "A as a memory of one entry, mapped to the decoder width by a linear layer and LayerNorm "
        "(`audio_memory` 'embedding'); 'frames', the time steps of the last feature map, goes beyond the paper.",
        "clipaac_lib.model.config.ModelConfig.audio_memory",
        _T_MODEL + "test_frames_memory_is_a_time_sequence_with_a_length_mask"),
    Row("Decoder vocabulary", "2.3", SILENT,
        "The words of the training captions (lower case, punctuation removed) after the ids of `<pad>`, `<bos>`, "
        "`<eos>`, `<unk>`, most frequent first; training captions cut to 30 words.",
        "clipaac_lib.data.text.Vocabulary", "tests/test_data_text.py::test_vocabulary_build_orders_by_count_then_alphabet"),
    Row("Eq. (6) caption loss", "2.3", '"−Σ_m log P_θ(t_m | t_0, ..., t_{m−1}, A)"',
        "Cross-entropy of the next-word logits, label smoothing 0.1, padding ignored.",
        _LOSS + "caption_loss", _T_LOSS + "test_caption_loss_is_label_smoothed_cross_entropy_over_real_tokens"),
    Row("Caption-loss reduction", "2.3", f'{SILENT} — Eq. (6): "−Σ_{{m=0}}^{{M}} log P_θ" (one caption)',
        "'token_mean' (default): the mean over the batch's real tokens, PyTorch's convention; 'caption_sum': "
        "Eq. (6)'s sum over a caption's tokens, averaged over captions (it changes the effective α).",
        _TC + "caption_loss", _T_KNOB + "test_caption_loss"),
    Row("Eq. (7) total loss", "2.3", '"L_total = α L_cl + (1 − α) L_ce"',
        "One 0-d tensor, back-propagated once per batch.",
        _LOSS + "total_loss", _T_LOSS + "test_total_loss_is_equation_7"),
    Row("α of Eq. (7)", "4.2", '"best performances when α ... is set as 0.2"', "`alpha` = 0.2.",
        _TC + "alpha", _T_CFG + "test_defaults_are_the_papers_recipe"),
    Row("Text head discarded at inference", "1", '"the text-head of the encoder is discarded"',
        "Captioning runs only the audio head and the decoder; `drop_text_head` frees the text head.",
        _MODEL + "drop_text_head", _T_MODEL + "test_inference_without_the_text_head"),
    # ---------------------------------------------------------------- 3.1 data
    Row("Dataset: Clotho", "3.1", '"We conduct experiments on the Clotho dataset"',
        "Clotho v2.1 read from its CSV and WAV files; the embedded default is a synthetic set in Clotho's format.",
        "clipaac_lib.data.clotho.ClothoDataset", "tests/test_data_clotho.py::test_reads_every_clip_and_caption_exactly"),
    Row("Splits: 4884 training and 1045 test clips", "3.1", '"4884 audio clips ... 1045 audio clips"',
        "train = development + validation (3839 + 1045 clips), test = evaluation (1045 clips).",
        "clipaac_lib.data.clotho.SPLITS", "tests/test_data_clotho.py::test_paper_splits_train_and_test"),
    Row("Clip length", "3.1", '"ranges from 15 to 30 seconds"',
        "Clips are cut to their first 30 s (`max_seconds`), which leaves Clotho's clips whole.",
        _TC + "max_seconds", "tests/test_data_clotho.py::test_max_seconds_crops_to_the_first_seconds"),
    Row("Epoch: how the five captions are used", "3.1",
        f'{SILENT} — "Each audio clip combines one of five captions as an audio-text training pair"',
        "'all' (default): every (clip, caption) pair once per epoch, 24 420 pairs on Clotho, our reading of "
        "\"4884 audio clips with 24420 captions\"; 'one': one sampled caption per clip per epoch.",
        _TC + "epoch_captions", _T_KNOB + "test_epoch_captions"),
    Row("Five references at evaluation", "3.1", '"between predicted captions and all five captions"',
        "One caption per clip, scored against its five references over the whole test split at once.",
        "clipaac_lib.metrics.scoring.evaluate_captions",
        "tests/test_metrics.py::test_equals_pycocoevalcap_on_generated_corpus"),
    Row("Padding in training and evaluation", "3.1", SILENT,
        "Training: clips zero-padded to the longest in the batch; evaluation: clips of one length evaluated "
        "together, so that a clip's scores do not depend on its batch mates.",
        "clipaac_lib.train.evaluation.run_split",
        "tests/test_train_evaluate.py::test_embedding_and_caption_do_not_depend_on_batch_mates"),
    # ---------------------------------------------------------------- 3.2 training and decoding
    Row("Optimizer", "3.2", '"optimized by Adam"',
        "`torch.optim.Adam` with two parameter groups: the encoder and the new layers.",
        "clipaac_lib.train.step.make_optimizer", _T_CFG + "test_optimizer_has_the_two_parameter_groups"),
    Row("Adam's β and ε, weight decay, gradient clipping", "3.2", SILENT,
        "PyTorch's Adam defaults (β = 0.9, 0.999; ε = 1e-8), no weight decay and no clipping, since the paper "
        "names none.",
        _TC + "weight_decay", "tests/test_paper_to_code.py::test_adam_has_pytorchs_defaults_and_no_decay_or_clipping"),
    Row("Encoder learning rate", "3.2", '"1 × 10^−5 is applied to the pre-trained encoder"',
        "1e-5 for the audio head, the text head and the temperature.",
        "clipaac_lib.train.config.PAPER_ENCODER_LR", _T_CFG + "test_optimizer_has_the_two_parameter_groups"),
    Row("Decoder learning rate", "3.2", '"1 × 10^−3 is applied to the decoder"',
        "`lr` = 1e-3 for the decoder and the memory projection.",
        _TC + "lr", _T_CFG + "test_optimizer_has_the_two_parameter_groups"),
    Row("Which parameters are the encoder", "3.2", SILENT,
        "The audio head, the text head and the temperature (pre-trained in AudioCLIP); the memory projection and "
        "the decoder are new.",
        _MODEL + "encoder_parameters", _T_MODEL + "test_parameter_groups_partition_the_model"),
    Row("Learning rate of a random encoder", "3.2", f'{SILENT} — "applied to the pre-trained encoder"',
        "`encoder_lr` None (default): 1e-5 for a pre-trained encoder as in the paper, `lr` for a random one "
        "(Table 1, system 1), which has no pre-trained weights to protect.",
        _TC + "encoder_lr", _T_CFG + "test_defaults_are_the_papers_recipe"),
    Row("Warm-up", "3.2", '"in the first 5 epochs ... linearly increases"',
        "Per optimiser step, each rate rises linearly to its full value over the first 5 epochs.",
        "clipaac_lib.train.schedule.warmup_factor", _T_CFG + "test_warmup_rises_linearly_over_the_first_epochs"),
    Row("Learning rate after warm-up", "3.2", SILENT,
        "'constant' (default), since the paper names no decay; 'cosine': a cosine decay to 0 at the end of "
        "training.",
        _TC + "lr_after_warmup", _T_KNOB + "test_lr_after_warmup"),
    Row("Number of epochs", "3.2", '"The training epoch is set to 40"',
        "40 on Clotho; the synthetic default trains for fewer, so that a CPU run takes minutes.",
        "clipaac_lib.train.config.PAPER_EPOCHS", _T_CFG + "test_defaults_are_the_papers_recipe"),
    Row("Batch size", "3.2", '"the default batch size is 8"',
        "`batch_size` = 8 pairs in the global batch, whose pairs are the contrastive negatives.",
        _TC + "batch_size", _T_CFG + "test_defaults_are_the_papers_recipe"),
    Row("Label smoothing", "3.2", '"label smoothing [23] with ε = 0.1"',
        "0.1 on the caption loss of Eq. (6).",
        _TC + "label_smoothing", _T_LOSS + "test_caption_loss_is_label_smoothed_cross_entropy_over_real_tokens"),
    Row("Dropout", "3.2", '"dropout with a rate of 0.2"', "0.2.",
        _TC + "dropout", _T_DEC + "test_paper_decoder_has_two_blocks_and_dropout_0_2"),
    Row("Where dropout applies", "3.2", SILENT,
        "In the decoder (word embeddings, attention weights, every sub-layer); the pre-trained heads keep "
        "their design, which has no dropout.",
        "clipaac_lib.model.decoder.DecoderBlock", _T_DEC + "test_dropout_is_active_in_training_only"),
    Row("Beam size", "3.2", '"beam search is applied with a beam size of 3"',
        "Batched beam search with 3 beams (`beam_size` 1 is greedy search).",
        "clipaac_lib.model.decode.beam_search", _T_DECODE + "test_wide_beam_finds_the_exhaustive_optimum"),
    Row("Beam-search length penalty", "3.2", SILENT,
        "The final beams are ranked by log-probability per token (`length_penalty` 1); 0, the raw sum, "
        "favours short captions.",
        "clipaac_lib.model.decode.DecodeConfig.length_penalty", _T_DECODE + "test_wide_beam_finds_the_exhaustive_optimum"),
    Row("Tokens never generated, caption length", "3.2", SILENT,
        "`<unk>`, `<pad>` and `<bos>` are banned, the first word cannot end the caption (no empty captions), and a "
        "caption has at most 30 words.",
        "clipaac_lib.model.decode.DecodeConfig.unk_id",
        _T_DECODE + "test_decoding_rules_no_specials_no_empty_caption_and_max_len"),
    Row("Checkpoint that is evaluated", "3.2", SILENT,
        "'last' (default): the model after the last epoch, since the paper names no validation split (its training "
        "set includes Clotho's); 'best': the epoch with the lowest caption NLL on a held-out validation split "
        "(`val_split`, with `train_split` 'development').",
        _TC + "select_checkpoint", _T_KNOB + "test_select_checkpoint"),
    Row("Seeds and repeated runs", "4", SILENT,
        "One run per system with seed 0; a run is reproducible from its configuration.",
        _TC + "seed", "tests/test_train_run.py::test_two_runs_of_one_config_give_the_same_numbers"),
    # ---------------------------------------------------------------- 3.3 metrics
    Row("Metrics", "3.3", '"BLEU_n, METEOR, ROUGE_L, CIDEr, SPICE, and SPIDEr"',
        "pycocoevalcap's implementations on PTB-tokenised captions (Java for the tokenizer, METEOR and SPICE).",
        "clipaac_lib.metrics.scoring.evaluate_captions", "tests/test_metrics.py::test_published_aac_metrics_example"),
    Row("CIDEr variant", "3.3", f'{SILENT} — "CIDEr [27]"',
        "CIDEr-D, pycocoevalcap's, as DCASE and AAC papers report it; document frequencies from the whole test split.",
        "clipaac_lib.metrics.scoring.evaluate_captions",
        "tests/test_metrics.py::test_equals_pycocoevalcap_on_generated_corpus"),
    Row("SPIDEr", "3.3", f'{SILENT} — "the linear combination of CIDEr and SPICE"',
        "(CIDEr-D + SPICE) / 2, Liu et al.'s definition; the paper's tables agree with it.",
        "clipaac_lib.metrics.scoring.evaluate_captions_timed", "tests/test_paper.py::test_spider_is_mean_of_cider_and_spice"),
    # ---------------------------------------------------------------- 4 results: the paper's tables
    Row("Table 1: encoder initialisation", "4.1", '"Random", "Audio-only", "Audio-Text" frozen or not',
        "`init` 'random', 'audio', 'audio_text' with `freeze_encoder`, and 'audio_text' fine-tuned; batch size 8.",
        "clipaac_lib.experiments.ablations.table1_jobs", "tests/test_ablations.py::test_table1_jobs_are_the_papers_systems"),
    Row("Table 1: text head and α per system", "4.1",
        f'{SILENT} — "system 1 and system 2 only utilize the audio-head"',
        "Systems 1-2: the audio head only (α = 0, no text head); systems 3-4: α = 0.2 (system 4 is system 8).",
        "clipaac_lib.experiments.paper.TABLE1", "tests/test_ablations.py::test_table1_jobs_are_the_papers_systems"),
    Row("Table 1, system 2: audio-only pre-training", "4.1", '"pre-trained on Audioset"',
        "ESRNXFBSP.pt (AudioCLIP's ESResNeXt-fbsp trained on AudioSet) in the audio head; its 527-class layer "
        "is skipped.",
        "clipaac_lib.pretrain.published.load_esresnext_audioset",
        "tests/test_pretrained.py::test_esresnext_audioset_layout_skips_the_527_class_fc"),
    Row("Table 1, system 3: frozen encoder", "4.1", f'{SILENT} — "Frozen: Yes"',
        "The audio head, the text head and the temperature get no gradient, and the BatchNorm statistics stay "
        "fixed too.",
        _MODEL + "freeze_encoder", _T_MODEL + "test_freeze_encoder_keeps_weights_and_batchnorm_statistics"),
    Row("Table 2: α and batch size", "4.2", '"α" 0 to 0.3, "B.S." 4, 8 and 16',
        "Systems 5-10: α 0, 0.1, 0.2, 0.3 at batch size 8, batch sizes 4, 8, 16 at α 0.2, with system 4's "
        "encoder (AudioCLIP's, or the book's stand-in for the small model; never another).",
        "clipaac_lib.experiments.paper.TABLE2", "tests/test_ablations.py::test_table2_jobs_are_the_papers_systems_with_system_4s_encoder"),
    Row("AudioSet and AudioCLIP pretraining (offline)", "2.1", '"pre-trained on Audioset", "initialized by AudioCLIP"',
        "For the small model the book pretrains its own: tagging a labelled synthetic corpus (other seed, no "
        "captions), then audio-text contrastive on its class names; saved in the published key layouts.",
        "clipaac_lib.pretrain.store.ensure_pretrained",
        "tests/test_pretrain.py::test_pretrained_files_have_the_published_layouts_and_load_with_the_published_loaders"),
    Row("Table 1, system 3: frozen encoder, embedded once", "4.1", f'{SILENT} — "Frozen: Yes"',
        "With the encoder frozen, each training clip's audio embedding is computed once and reused at every "
        "step (the same training as without the cache).",
        "clipaac_lib.train.frozen.training_audio_cache",
        "tests/test_train_frozen.py::test_the_cache_gives_the_plain_steps_losses_and_weights"),
    Row("Seeds and noise", "4", SILENT,
        "Every system runs the same seeds; each finding is the mean paired CIDEr-D difference over seeds and "
        "clips with a 95 % interval counting seed, clip and interaction noise once each (two-way layout), "
        "labelled reproduced, contradicted or undecided, beside the effect found with 80 % power.",
        "clipaac_lib.experiments.intervals.paired_difference",
        "tests/test_intervals.py::test_the_95_interval_covers_the_truth_95_percent_of_the_time"),
    Row("Figure 2: similarity after softmax", "4.2", f'{SILENT} — "cosine similarity (after softmax)"',
        "A softmax over captions: row i is clip i against the captions of all clips, scaled by 1/t.",
        "clipaac_lib.model.analysis.similarity_matrix", "tests/test_analysis.py::test_similarity_matrix_matches_hand_computation"),
)


# ---------------------------------------------------------------------------------------- resolution
def _import_longest(parts: list[str]) -> tuple[ModuleType, int]:
    """The module named by the longest importable prefix of ``parts``, and that prefix's length."""
    prefixes = {".".join(parts[:n]) for n in range(2, len(parts) + 1)}
    for n in range(len(parts), 0, -1):
        name = ".".join(parts[:n])
        try:
            return importlib.import_module(name), n
        except ModuleNotFoundError as err:
            if err.name not in prefixes:  # a real missing dependency, not "this is no module"
                raise
    raise ModuleNotFoundError(f"no module in {'.'.join(parts)!r}", name=parts[0])


def _step(obj: Any, name: str) -> Any:
    """``obj.name``: a dataclass field (as its :class:`dataclasses.Field`) or an attribute, unwrapped from
    property, classmethod and staticmethod; raises ``AttributeError``."""
    if isinstance(obj, type) and dataclasses.is_dataclass(obj):
        for f in dataclasses.fields(obj):
            if f.name == name:
                return f
    value = inspect.getattr_static(obj, name) if isinstance(obj, type) else getattr(obj, name)
    if isinstance(value, property):
        return value.fget
    if isinstance(value, (classmethod, staticmethod)):
        return value.__func__
    return value


def _walk(dotted: str) -> tuple[list[tuple[Any, str]], list[str]]:
    """``[(object, name), ...]`` from the module on, and the names that did not resolve."""
    parts = dotted.split(".")
    module, n = _import_longest(parts)
    chain: list[tuple[Any, str]] = [(module, parts[n - 1])]
    for i, name in enumerate(parts[n:], start=n):
        owner = chain[-1][0]
        if isinstance(owner, dataclasses.Field):
            return chain, parts[i:]
        try:
            chain.append((_step(owner, name), name))
        except AttributeError:
            return chain, parts[i:]
    return chain, []


def resolve(dotted: str) -> Any:
    """The object a row's ``code`` names: ``pkg.module.name[.attr...]``; a dataclass field (with or
    without a default) resolves to its :class:`dataclasses.Field`. Raises ``LookupError`` naming the part
    that is missing (``ModuleNotFoundError`` when no prefix is a module).

    Page: ``book/paper_to_code.md``.
    """
    chain, missing = _walk(dotted)
    if missing:
        raise LookupError(f"{dotted}: {chain[-1][1]!r} has no {missing[0]!r}")
    return chain[-1][0]
