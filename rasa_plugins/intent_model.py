"""The calibrated intent model: dense sentence embeddings + sparse n-gram counts -> linear SVM, averaged
with an RBF-kernel SVM on the embedding (`rasa_plugins.kernel_svm`, `kernel_weight`; 0: the linear SVM alone).

Why this design (numbers in docs/nlu.md and docs/benchmarks.md): the MiniLM embedding knows
paraphrases, the character/word n-grams know the exact vocabulary of a domain ("top-up",
"Apple Pay", "PIN"); a linear SVM over both is ~1 point more accurate on Banking77 than either
alone, and trains on 10k messages in seconds. Margins become probabilities through temperature
scaling fitted out-of-fold, and the fallback threshold is learnt on the same out-of-fold
predictions (`rasa_plugins.calibration`). What the threshold applies to is the out-of-scope detector's
score (`rasa_plugins.oos_detector`: confidence combined with distance to the predicted intent, learnt
with intents left out, so it works without out-of-scope examples), or the confidence alone
(`detector="confidence"`). With enough own out-of-scope examples, calibration also learns `oos_weight`
(their probability weighed down, chosen with the threshold) and can hold a `min_oos_recall`.

Per-language weights (bilingual bots): each row may carry a language code, and
`rasa_plugins.language_weights` weighs that language's feature blocks and examples; with none set, the
model is exactly the one-language model.

Plain data in, plain data out: feature blocks are numpy / scipy matrices keyed by the name of the
featurizer that made them, so this module knows nothing about Rasa. Persisted as .npz + JSON
(no pickle).
"""

from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from rasa_plugins.block_scaler import Blocks, BlockScaler
from rasa_plugins.calibration import expected_calibration_error, fit_temperature, softmax
from rasa_plugins.kernel_svm import KernelSVM
from rasa_plugins.language_weights import LanguageWeights
from rasa_plugins.oos_clusters import class_margins, split_classes
from rasa_plugins.oos_detector import ClassSimilarity, Combiner, features, intent_groups, normalise
from rasa_plugins.operating_point import choose_point

log = logging.getLogger(__name__)

DETECTORS = ("knn", "confidence")
ABSENT_MARGIN = -10.0  # an intent missing from a calibration fold: far below any real SVM margin (|m| < 3)
# multipliers of the out-of-scope intents' probability tried at calibration (bots with enough own examples)
OOS_WEIGHTS = (1.0, 0.5, 0.3, 0.2, 0.1, 0.05)


class IntentModel:
    """Linear SVM over feature blocks (and an RBF SVM on the embedding beside it) with temperature-scaled
    probabilities and a learnt threshold."""

    def __init__(
        self,
        C: float = 0.5,
        dense_weight: float = 2.0,
        sparse_weight: float = 1.0,
        folds: int = 5,
        oos_intents: tuple[str, ...] = ("out_of_scope", "oos"),
        threshold: float | None = None,
        max_fallback_rate: float = 0.15,
        expected_oos_share: float = 0.5,
        min_oos_recall: float | None = None,
        detector: str = "knn",
        pseudo_oos_groups: int = 5,
        oos_cluster_size: int = 100,
        own_oos_enough: int = 200,
        language_weights: dict[str, dict[str, float]] | None = None,
        language_sample_weight: dict[str, float] | None = None,
        kernel_weight: float = 0.0,
        kernel_C: float = 5.0,
        oos_weights: tuple[float, ...] = OOS_WEIGHTS,
        seed: int = 42,
    ):
        if detector not in DETECTORS:
            raise ValueError(f"detector must be one of {DETECTORS}, got {detector!r}")
        self.C = C
        self.folds = folds
        self.oos_intents = tuple(oos_intents)
        self.fixed_threshold = threshold  # None: learn it
        self.max_fallback_rate = max_fallback_rate
        self.expected_oos_share = expected_oos_share
        self.min_oos_recall = min_oos_recall  # with own out-of-scope examples: the recall the choice must keep
        self.detector = detector
        self.pseudo_oos_groups = pseudo_oos_groups
        self.oos_cluster_size = oos_cluster_size
        self.own_oos_enough = own_oos_enough
        self.kernel_weight = kernel_weight  # share of the RBF SVM's probabilities in the average (0: linear only)
        self.kernel_C = kernel_C
        self.oos_weights = tuple(oos_weights)  # tried at calibration; (1.0,): never weigh out-of-scope down
        self.languages = LanguageWeights(language_weights, language_sample_weight)
        self.seed = seed
        self._weights = None  # sample weights of the rows being fitted
        self.scaler = BlockScaler(dense_weight, sparse_weight)
        self.classes: list[str] = []
        self.coef = np.zeros((0, 0), dtype=np.float32)
        self._coef_t: tuple = (None, None)  # (coef, coef.T contiguous): `_margins`
        self.intercept = np.zeros(0, dtype=np.float32)
        self.row_class = np.zeros(0, dtype=np.int32)  # class of each weight row (oos_clusters)
        self.temperature = 1.0
        self.kernel: KernelSVM | None = None
        self.kernel_temperature = 1.0
        self.mix_temperature = 1.0  # on the log of the averaged probabilities (`_probabilities`)
        self.oos_weight = 1.0  # the out-of-scope intents' probability is multiplied by it (learnt; 1: as is)
        self.threshold = 0.0
        self.combiner: Combiner | None = None  # None: the threshold applies to the confidence
        self.similarity: ClassSimilarity | None = None
        self.report: dict = {}

    # -- training ---------------------------------------------------------------------------
    def fit(self, blocks: Blocks, labels: list[str], progress=None,
            languages: list[str] | None = None) -> "IntentModel":
        """Fits the final model and, out-of-fold, the calibration. `progress(step)` is told each fit;
        `languages`: one code per row (None: no per-language weights apply)."""
        self.classes = sorted(set(labels))
        if len(self.classes) < 2:
            raise ValueError(f"need at least two intents to train a classifier, got {self.classes}")
        y = np.array([self.classes.index(label) for label in labels])
        self.scaler.fit(blocks)
        X = self._features(blocks, languages)
        D = self._dense(blocks, languages)
        E = D if self.detector == "knn" else None
        K = D if self.kernel_weight > 0 else None
        self._weights = self.languages.sample_weights(languages)
        dense = [np.asarray(blocks[n], dtype=np.float32) for n in self.scaler.names if not sp.issparse(blocks[n])]
        oos_ids = [i for i, c in enumerate(self.classes) if c in self.oos_intents]
        rows, self.row_class = split_classes(y, len(self.classes), oos_ids, normalise(np.hstack(dense)) if dense
                                             else X, self.oos_cluster_size, self.seed)
        margins, scores, sims, folds_used = self._out_of_fold(X, E, K, y, rows, progress)
        self.coef, self.intercept = self._fit_svm(X, rows, self._weights)
        self.kernel = self._fit_kernel(K, y, self._weights)
        if progress:
            progress("final model")
        self.temperature = fit_temperature(margins, y)
        if scores is not None:
            self.kernel_temperature, self.mix_temperature = fit_temperature(scores, y), 1.0
            # an average of two calibrated softmaxes is not calibrated (under-confident where they agree): one
            # more scalar on its log, out of fold like the others; the ranking does not move
            self.mix_temperature = fit_temperature(np.log(self._probabilities(margins, scores) + 1e-12), y)
        pseudo = self._left_out_intents(X, E, K, y, rows, progress) if self.detector == "knn" else None
        if E is not None:
            self.similarity = ClassSimilarity(E.astype(np.float16), y, len(self.classes))
        self._calibrate(margins, scores, sims, y, folds_used, pseudo)
        return self

    def _fit_kernel(self, K: np.ndarray | None, y: np.ndarray, weights: np.ndarray | None) -> KernelSVM | None:
        return None if K is None else KernelSVM(len(self.classes), self.kernel_C).fit(K, y, weights)

    def _probabilities(self, margins: np.ndarray, scores: np.ndarray | None, oos_weight: float = 1.0) -> np.ndarray:
        """Calibrated probabilities: the linear SVM's softmax, averaged with the kernel SVM's (`kernel_weight`),
        the out-of-scope intents' share multiplied by `oos_weight` and the rows renormalised."""
        probs = softmax(self.temperature * margins)
        if scores is not None:
            w = self.kernel_weight
            probs = (1.0 - w) * probs + w * softmax(self.kernel_temperature * scores)
            if self.mix_temperature != 1.0:
                probs = softmax(self.mix_temperature * np.log(probs + 1e-12))
        if oos_weight != 1.0:
            oos_ids = [i for i, c in enumerate(self.classes) if c in self.oos_intents]
            probs[:, oos_ids] *= oos_weight
            probs /= probs.sum(axis=1, keepdims=True)
        return probs

    def _dense(self, blocks: Blocks, languages: list[str] | None = None) -> np.ndarray | None:
        """The dense blocks (sentence embeddings), each weighted per language, concatenated and L2-normalised;
        None without any, or when neither the detector nor the kernel SVM reads them."""
        names = [n for n in self.scaler.names if n not in self.scaler.idf and n in blocks]  # missing: `_features` says so
        if not names or (self.detector != "knn" and self.kernel_weight <= 0):
            return None
        return normalise(np.hstack([self.languages.dense(n, np.asarray(blocks[n], dtype=np.float32), languages)
                                    for n in names]))

    def _features(self, blocks: Blocks, languages: list[str] | None = None) -> sp.csr_matrix:
        """The scaler's matrix with each language's block weights applied to its rows."""
        return self.languages.apply(self.scaler.transform(blocks), self.scaler.names, self.scaler.dims, languages)

    @property
    def steps(self) -> int:
        """How many fits `fit` reports to `progress` (for a progress bar)."""
        return self.folds + 1 + (self.pseudo_oos_groups if self.detector == "knn" else 0)
    def _margins(self, X, coef: np.ndarray, intercept: np.ndarray) -> np.ndarray:
        """Per-class SVM margins (a class split into clusters: its best cluster).

        `X @ coef.T` with a sparse X and the transposed (non-contiguous) view makes scipy copy the whole
        classes x features matrix on every call (1–2 ms per message with the n-gram vocabularies), so the
        serving coefficients are kept transposed and contiguous, made once."""
        source, coef_t = self._coef_t
        if source is not coef:
            coef_t = np.ascontiguousarray(coef.T)
            if coef is self.coef:
                self._coef_t = (coef, coef_t)
        return class_margins(np.asarray(X @ coef_t + intercept), self.row_class)

    def _fit_svm(self, X: sp.csr_matrix, y: np.ndarray, weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """One-vs-rest linear SVM on row labels, `weights` per example (None: all 1); returns (coef, intercept)
        over ALL rows (absent ones: -inf)."""
        from sklearn.svm import LinearSVC

        present = np.unique(y)
        coef = np.zeros((len(self.row_class), X.shape[1]), dtype=np.float32)
        intercept = np.full(len(self.row_class), ABSENT_MARGIN, dtype=np.float32)
        if len(present) == 1:  # a fold with one intent only: it always wins
            intercept[present[0]] = 0.0
            return coef, intercept
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ConvergenceWarning on tiny data; the margins are still usable
            svm = LinearSVC(C=self.C, max_iter=5000, random_state=self.seed).fit(X, y, sample_weight=weights)
        rows = svm.coef_ if len(present) > 2 else np.vstack([-svm.coef_, svm.coef_])
        bias = svm.intercept_ if len(present) > 2 else np.array([-svm.intercept_[0], svm.intercept_[0]])
        coef[present] = rows
        intercept[present] = bias
        return coef, intercept

    def _subset(self, index) -> np.ndarray | None:
        return None if self._weights is None else self._weights[index]

    def _out_of_fold(self, X, E, K, y, rows, progress) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None, int]:
        """Margins (kernel scores, class similarities) of every example from a model that did not see it."""
        from sklearn.model_selection import StratifiedKFold

        counts = np.bincount(y, minlength=len(self.classes))
        k = int(min(self.folds, max(2, counts.max())))
        margins = np.zeros((X.shape[0], len(self.classes)), dtype=np.float32)
        sims = None if E is None else np.zeros((X.shape[0], len(self.classes)), dtype=np.float32)
        scores = None if K is None else np.zeros((X.shape[0], len(self.classes)), dtype=np.float32)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # intents with fewer than k examples: allowed, reported
            splits = list(StratifiedKFold(n_splits=k, shuffle=True, random_state=self.seed).split(np.zeros(len(y)), y))
        for i, (train_idx, test_idx) in enumerate(splits):
            coef, intercept = self._fit_svm(X[train_idx], rows[train_idx], self._subset(train_idx))
            margins[test_idx] = self._margins(X[test_idx], coef, intercept)
            if scores is not None:
                scores[test_idx] = self._fit_kernel(K[train_idx], y[train_idx], self._subset(train_idx)).decision(
                    K[test_idx])
            if sims is not None:
                sims[test_idx] = ClassSimilarity(E[train_idx], y[train_idx], len(self.classes))(E[test_idx])
            if progress:
                progress(f"calibration fold {i + 1}/{k}")
        return margins, scores, sims, k

    def _left_out_intents(self, X, E, K, y, rows, progress) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Pseudo-out-of-scope examples: each group of in-scope intents scored by a model trained without it.

        Returns (confidence, predicted class, detector features) for every in-scope example."""
        in_scope = [i for i, c in enumerate(self.classes) if c not in self.oos_intents]
        groups = intent_groups(in_scope, max(1, min(self.pseudo_oos_groups, len(in_scope) - 1)), self.seed)
        conf = np.zeros(len(y))
        pred = np.zeros(len(y), dtype=int)
        x = np.zeros((len(y), 2))
        seen = np.zeros(len(y), dtype=bool)
        for group in groups:
            held = np.isin(y, group)
            coef, intercept = self._fit_svm(X[~held], rows[~held], self._subset(~held))
            kernel = self._fit_kernel(None if K is None else K[~held], y[~held], self._subset(~held))
            probs = self._probabilities(self._margins(X[held], coef, intercept),
                                        None if kernel is None else kernel.decision(K[held]))
            pred[held], conf[held] = probs.argmax(axis=1), probs.max(axis=1)
            similarity = (ClassSimilarity(E[~held], y[~held], len(self.classes)).of_classes(E[held], pred[held])
                          if E is not None else np.zeros(int(held.sum())))
            x[held] = features(conf[held], similarity)
            seen |= held
            if progress:
                progress("intents left out")
        return conf[seen], pred[seen], x[seen]

    def _calibrate(self, margins: np.ndarray, scores: np.ndarray | None, sims: np.ndarray | None, y: np.ndarray,
                   folds_used: int, pseudo: tuple | None) -> None:
        """Detector, threshold and (with enough own out-of-scope examples) `oos_weight`, on out-of-fold predictions.

        Weighing the out-of-scope intents down extends the operating curve below threshold 0: at threshold 0
        their clusters alone reject, and a bot with many own examples can trade some of that recall for
        in-scope answers. The weight and the threshold are chosen together, by the same rule (the expected utility,
        or the most in-scope answers that keep `min_oos_recall`)."""
        oos_ids = [i for i, c in enumerate(self.classes) if c in self.oos_intents]
        own = int(np.isin(y, oos_ids).sum()) >= self.own_oos_enough > 0  # enough real ones: pseudo only train the detector
        weights = self.oos_weights if (own and self.fixed_threshold is None) else (1.0,)
        best, self.oos_weight = None, 1.0
        for oos_weight in weights:
            point = choose_point(self._probabilities(margins, scores, oos_weight), y, sims, pseudo, oos_ids, own,
                                 self.max_fallback_rate, self.expected_oos_share, self.min_oos_recall, self.seed)
            if best is None or point.choice.utility > best.choice.utility + 1e-12:
                best, self.oos_weight = point, oos_weight
        choice, self.combiner, confidence, correct, n_pseudo = (best.choice, best.combiner, best.confidence,
                                                                best.correct, best.pseudo_examples)
        n = len(y)
        self.threshold = choice.threshold if self.fixed_threshold is None else float(self.fixed_threshold)
        self.report = {
            "examples": int(n),
            "intents": len(self.classes),
            "folds": folds_used,
            "out_of_fold_accuracy": round(float(correct[:n].mean()), 4),
            "temperature": round(self.temperature, 4),
            "ece": round(expected_calibration_error(confidence[:n], correct[:n]), 4),
            "detector": self.detector if self.combiner is not None else "confidence",
            "pseudo_oos_examples": n_pseudo,
            "threshold_from": "own out-of-scope examples" if own else "own and pseudo out-of-scope examples",
            "oos_clusters": int(len(self.row_class) - len(self.classes) + len(oos_ids)) if oos_ids else 0,
            "threshold": round(self.threshold, 4),
            "oos_weight": self.oos_weight,
            "kernel": self._kernel_report(),
            "threshold_learnt": self.fixed_threshold is None,
            "expected_oos_share": self.expected_oos_share,
            "min_oos_recall": self.min_oos_recall if own else None,
            "max_fallback_rate": self.max_fallback_rate,
            "out_of_fold_at_threshold": choice.as_dict(),
        }
        if self.combiner is not None:
            self.report["combiner"] = self.combiner.as_dict()
        log.info("intent model calibrated: %s", self.report)

    def _kernel_report(self) -> dict | None:
        if self.kernel is None:
            return None
        return {"weight": self.kernel_weight, "C": self.kernel_C, "temperature": round(self.kernel_temperature, 4),
                "mix_temperature": round(self.mix_temperature, 4), "support_vectors": int(self.kernel.support.shape[0])}

    # -- inference --------------------------------------------------------------------------
    def predict_proba(self, blocks: Blocks, languages: list[str] | None = None,
                      dense: np.ndarray | None = None) -> np.ndarray:
        X = self._features(blocks, languages)
        scores = None
        if self.kernel is not None:
            scores = self.kernel.decision(self._dense(blocks, languages) if dense is None else dense)
        return self._probabilities(self._margins(X, self.coef, self.intercept), scores, self.oos_weight)

    def predict(self, blocks: Blocks, languages: list[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(probabilities, answerable score): the fallback applies where the score is below `threshold`."""
        E = self._dense(blocks, languages)
        probs = self.predict_proba(blocks, languages, E)
        if self.combiner is None:
            return probs, probs.max(axis=1)
        pred = probs.argmax(axis=1)
        similarity = (self.similarity.of_classes(E, pred) if (E is not None and self.similarity is not None)
                      else np.zeros(len(pred)))
        return probs, self.combiner.score(features(probs.max(axis=1), similarity))

    # -- persistence ------------------------------------------------------------------------
    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        arrays = {"coef": self.coef, "intercept": self.intercept, "row_class": self.row_class}
        arrays |= {f"idf::{name}": idf for name, idf in self.scaler.idf.items()}
        if self.similarity is not None:
            arrays |= {"knn_embeddings": self.similarity.embeddings.astype(np.float16),
                       "knn_labels": self.similarity.labels.astype(np.int32)}
        if self.kernel is not None:
            arrays |= self.kernel.to_arrays()
        np.savez_compressed(directory / "intent_model.npz", **arrays)
        meta = {
            "classes": self.classes,
            "temperature": self.temperature,
            "threshold": self.threshold,
            "oos_intents": list(self.oos_intents),
            "blocks": self.scaler.names,
            "dims": self.scaler.dims,
            "dense_weight": self.scaler.dense_weight,
            "sparse_weight": self.scaler.sparse_weight,
            "C": self.C,
            "detector": self.detector,
            "kernel_weight": self.kernel_weight,
            "kernel_C": self.kernel_C,
            "kernel_temperature": self.kernel_temperature,
            "mix_temperature": self.mix_temperature,
            "oos_weight": self.oos_weight,
            "language_weights": self.languages.blocks,
            "language_sample_weight": self.languages.sample,
            "combiner": self.combiner.as_dict() if self.combiner is not None else None,
            "report": self.report,
        }
        (directory / "intent_model.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> "IntentModel":
        meta = json.loads((directory / "intent_model.json").read_text(encoding="utf-8"))
        arrays = np.load(directory / "intent_model.npz")
        model = cls(C=meta["C"], dense_weight=meta["dense_weight"], sparse_weight=meta["sparse_weight"],
                    oos_intents=tuple(meta["oos_intents"]), detector=meta.get("detector", "confidence"),
                    language_weights=meta.get("language_weights"),
                    language_sample_weight=meta.get("language_sample_weight"),
                    kernel_weight=meta.get("kernel_weight", 0.0), kernel_C=meta.get("kernel_C", 5.0))
        model.classes = meta["classes"]
        model.kernel_temperature = meta.get("kernel_temperature", 1.0)
        model.mix_temperature = meta.get("mix_temperature", 1.0)
        model.oos_weight = meta.get("oos_weight", 1.0)
        model.kernel = KernelSVM.from_arrays(arrays)
        model.temperature = meta["temperature"]
        model.threshold = meta["threshold"]
        model.report = meta["report"]
        model.scaler.names = meta["blocks"]
        model.scaler.dims = {k: int(v) for k, v in meta["dims"].items()}
        model.scaler.idf = {k.split("::", 1)[1]: arrays[k] for k in arrays.files if k.startswith("idf::")}
        model.coef = arrays["coef"]
        model.intercept = arrays["intercept"]
        model.row_class = (arrays["row_class"] if "row_class" in arrays.files
                           else np.arange(len(model.classes), dtype=np.int32))
        if meta.get("combiner"):
            model.combiner = Combiner.from_dict(meta["combiner"])
        if "knn_embeddings" in arrays.files:
            model.similarity = ClassSimilarity(arrays["knn_embeddings"], arrays["knn_labels"], len(model.classes))
        return model
