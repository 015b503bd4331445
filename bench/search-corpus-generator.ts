/**
 * A deterministic synthetic corpus for `bench/search.bench.ts`: posts with a title, subtitle and a
 * ~1,500-word body drawn from a 50,000-word Zipf-distributed (s = 1) vocabulary whose top ranks are
 * English stop-words, then ML terms, then pronounceable pseudo-words. Post N is generated from its own
 * seed, so any post can be regenerated on its own (for phrase and autocomplete queries, or a second
 * engine) without keeping the corpus in memory.
 */
import type { PostDraft } from '../src/posts/post.ts';
import { seededRandom } from './bench-util.ts';

export const VOCABULARY_SIZE = 50_000;

/** The ~100 most frequent English words, most frequent first. */
export const STOP_WORDS: readonly string[] = (
  'the of and to a in is that for it as was with be by on not he i this are or his from at which but have an had ' +
  'they you were their one all we can her has there been if more when will would who so no she other its may these ' +
  'what them than some him time into only do new about two most also then my our could any over like first such how ' +
  'where out up after should those just many much each both very through well even because between here while make same'
).split(' ');

/** ML vocabulary, roughly most common first (they take the ranks right after the stop-words). */
const ML_TERMS_RAW = `
model models training data attention transformer learning neural network networks layer layers token tokens
parameters gradient loss inference scaling compute dataset benchmark evaluation embedding embeddings pretraining
finetuning distillation quantization diffusion reinforcement reward policy agent agents reasoning alignment
language vision multimodal encoder decoder architecture weights optimizer batch sequence context memory latency
throughput accuracy performance generalization overfitting regularization dropout normalization activation softmax
logits probability distribution sampling temperature decoding beam greedy prompt prompting instruction instructions
chatbot assistant retrieval augmentation augmented generation generative adversarial autoencoder variational latent
representation representations feature features classifier classification regression supervised unsupervised
selfsupervised contrastive objective convergence stochastic descent momentum adam learningrate warmup schedule
epoch epochs checkpoint checkpoints hyperparameter hyperparameters ablation baseline baselines sota leaderboard
perplexity crossentropy likelihood bayesian posterior prior inferencing kernel kernels convolution convolutional
recurrent lstm gru rnn cnn mlp perceptron backpropagation autograd tensor tensors matrix matrices vector vectors
dimension dimensions projection projections residual skip connection connections head heads multihead selfattention
crossattention positional rotary alibi tokenizer tokenization vocabulary bpe sentencepiece wordpiece subword corpus
corpora pretrained foundation frontier scaling laws chinchilla compute-optimal emergent emergence capabilities
capability hallucination hallucinations factuality grounding citation citations toolformer tool tools function
calling planning search tree mcts alphazero alphago selfplay curriculum exploration exploitation bandit bandits
qlearning actor critic ppo dpo rlhf rlaif preference preferences ranking reranking reranker dense sparse mixture
experts moe router routing gating expert capacity load balancing sharding parallelism pipeline tensorparallel
datapipeline zero fsdp deepspeed megatron gpu gpus tpu tpus accelerator accelerators cuda kernelfusion flashattention
pagedattention vllm kvcache cache caching speculative draft verifier verification lookahead medusa quantized int8
int4 fp8 fp16 bf16 mixedprecision pruning sparsity lowrank lora qlora adapter adapters peft prefix prompttuning
instructiontuning sft chainofthought cot selfconsistency treeofthoughts scratchpad verifierguided outcome process
supervision reward-model rewardmodel critique constitutional redteaming jailbreak jailbreaks safety robustness
adversarialexamples interpretability mechanistic circuits probing probes neurons superposition polysemantic
monosemantic autoencoders steering activationpatching attribution saliency shap explanation explainability
calibration uncertainty ensemble ensembles bootstrapping boosting bagging forest xgboost gradientboosting
clustering kmeans dimensionality pca tsne umap manifold topology graph graphs gnn message passing node nodes edge
edges link prediction recommendation recommender collaborative filtering retrievalaugmented vectorstore faiss
nearest neighbor neighbors approximate hnsw indexing index indexes chunking reranked bm25 lexical semantic
similarity cosine dotproduct contrastivelearning clip siglip vit visiontransformer patch patches segmentation
detection yolo imagenet cifar mnist coco objectdetection captioning vqa texttoimage stablediffusion denoising
noise scheduler unet latentdiffusion guidance classifierfree upsampling superresolution video audio speech
asr tts whisper wav2vec spectrogram waveform vocoder music robotics embodied manipulation locomotion simulation
simtoreal worldmodel worldmodels planning-model dreamer muzero offline online imitation behavior cloning demonstration
demonstrations trajectory trajectories rollout rollouts environment environments benchmarks mmlu gsm8k humaneval
swebench arc hellaswag truthfulqa bigbench helm chatbotarena elo contamination leakage memorization privacy
differential federated unlearning watermarking watermark detection synthetic syntheticdata selfinstruct
bootstrapped distilled student teacher compression efficiency efficient sparsemoe longcontext context-window
extrapolation interpolation ropescaling yarn ringattention linearattention statespace mamba ssm rwkv hyena
retnet recurrence convolutions hypernetwork metalearning fewshot zeroshot oneshot incontext icl transfer
domainadaptation continual catastrophic forgetting lifelong multitask multilingual translation summarization
questionanswering dialogue conversational chat agentic autonomous orchestration workflow workflows evals eval
judge llmjudge annotation annotators labeling labels crowdsourcing openweights opensource closedsource api
deployment serving scalability cluster datacenter energy emissions carbon hardware silicon chip chips asic fpga
`;

/** 400 ML terms: one token each (no hyphens or spaces), unique, none of them a stop-word. */
export const ML_TERMS: readonly string[] = [
  ...new Set(
    ML_TERMS_RAW.split(/\s+/)
      .map((w) => w.replace(/[^a-z0-9]/g, ''))
      .filter((w) => w.length > 1 && !/^\d/.test(w) && !STOP_WORDS.includes(w)),
  ),
].slice(0, 400);

const ONSETS = ['b', 'c', 'd', 'f', 'g', 'h', 'j', 'k', 'l', 'm', 'n', 'p', 'r', 's', 't', 'v', 'w', 'z', 'br', 'cr', 'dr', 'fl', 'gr', 'kl', 'pl', 'pr', 'sk', 'sl', 'sp', 'st', 'tr', 'th', 'sh', 'ch'];
const VOWELS = ['a', 'e', 'i', 'o', 'u', 'ai', 'ea', 'ou', 'io', 'oa'];
const CODAS = ['', '', '', 'n', 'r', 'l', 's', 'm', 'th', 'nd', 'st', 'x'];

export interface Vocabulary {
  words: readonly string[];
  /** Rank ranges: [0, mlStart) stop-words, [mlStart, pseudoStart) ML terms, then pseudo-words. */
  mlStart: number;
  pseudoStart: number;
  /** cumulative[i] = sum of 1/(r+1) for r ≤ i (Zipf, s = 1). */
  cumulative: Float64Array;
  /** guide[k] = the first rank whose cumulative weight exceeds k/GUIDE of the total: narrows the binary search. */
  guide: Int32Array;
}

const GUIDE = 1 << 16;

export function buildVocabulary(seed: number): Vocabulary {
  const random = seededRandom(seed);
  const words: string[] = [...STOP_WORDS, ...ML_TERMS];
  const taken = new Set(words);
  while (words.length < VOCABULARY_SIZE) {
    const syllables = 2 + Math.floor(random() * 3);
    let word = '';
    for (let s = 0; s < syllables; s++) {
      word += ONSETS[Math.floor(random() * ONSETS.length)]! + VOWELS[Math.floor(random() * VOWELS.length)]!;
      if (s === syllables - 1 || random() < 0.3) word += CODAS[Math.floor(random() * CODAS.length)]!;
    }
    if (word.length < 4 || word.length > 12 || taken.has(word)) continue;
    taken.add(word);
    words.push(word);
  }
  const cumulative = new Float64Array(words.length);
  let sum = 0;
  for (let i = 0; i < words.length; i++) cumulative[i] = sum += 1 / (i + 1);
  const guide = new Int32Array(GUIDE + 1);
  for (let k = 0, i = 0; k <= GUIDE; k++) {
    while (i < words.length - 1 && cumulative[i]! <= (k / GUIDE) * sum) i++;
    guide[k] = i;
  }
  return { words, mlStart: STOP_WORDS.length, pseudoStart: STOP_WORDS.length + ML_TERMS.length, cumulative, guide };
}

/** A Zipf-distributed rank in [lo, hi): binary search of the cumulative table (within the guide table's bounds). */
export function sampleRank(vocab: Vocabulary, random: () => number, lo = 0, hi = vocab.cumulative.length): number {
  const c = vocab.cumulative;
  const base = lo === 0 ? 0 : c[lo - 1]!;
  const target = base + random() * (c[hi - 1]! - base);
  const k = Math.floor((target / c[c.length - 1]!) * GUIDE);
  let a = Math.max(lo, vocab.guide[k]!);
  let b = Math.min(hi - 1, vocab.guide[Math.min(GUIDE, k + 1)]!);
  while (a < b) {
    const mid = (a + b) >>> 1;
    if (c[mid]! > target) b = mid;
    else a = mid + 1;
  }
  return a;
}

const AUTHORS = ['Ada Byte', 'Grace Tensor', 'Alan Gradient', 'Claude Shannon', 'Fei Vision', 'Yann Conv', 'Geoff Boltzmann', 'Ilya Scale', 'Andrej Token', 'Jeff Shard', 'Noam Router', 'Ashish Attention'];
const START = Date.UTC(2020, 0, 1);
const SPAN_MS = 5 * 365.25 * 24 * 3600 * 1000;

/** "Now" for a corpus: just after its newest post. */
export const corpusNow = () => new Date(START + SPAN_MS + 24 * 3600 * 1000);

const capitalise = (w: string) => w.charAt(0).toUpperCase() + w.slice(1);

export interface GeneratedPost {
  draft: PostDraft;
  /** Title words, lower-case, in order (for autocomplete queries). */
  titleWords: string[];
  /** Body word ranks in order, sentences concatenated (for phrase queries). */
  bodyRanks: Uint16Array;
  /** Which body positions start a sentence (a phrase is never taken across a sentence boundary). */
  sentenceStarts: Uint8Array;
}

export interface CorpusGenerator {
  vocab: Vocabulary;
  /** Occurrences of each rank in every post generated so far with `count: true`. */
  counts: Uint32Array;
  post(n: number, options?: { count?: boolean }): GeneratedPost;
}

export function createCorpusGenerator(options: { seed: number; size: number }): CorpusGenerator {
  const vocab = buildVocabulary(options.seed);
  const { words, mlStart, pseudoStart } = vocab;
  const counts = new Uint32Array(words.length);
  const ranks = new Uint16Array(2100);
  const starts = new Uint8Array(2100);

  function post(n: number, { count = false } = {}): GeneratedPost {
    const random = seededRandom(Math.imul(n + 1, 0x9e3779b1) ^ options.seed);
    const pick = (lo?: number, hi?: number) => {
      const rank = sampleRank(vocab, random, lo, hi);
      if (count) counts[rank]!++;
      return rank;
    };

    const titleLength = 5 + Math.floor(random() * 6);
    const titleWords: string[] = [];
    for (let i = 0; i < titleLength; i++) titleWords.push(words[random() < 0.6 ? pick(mlStart, pseudoStart) : pick()]!);
    const subtitleLength = 6 + Math.floor(random() * 7);
    const subtitleWords: string[] = [];
    for (let i = 0; i < subtitleLength; i++) subtitleWords.push(words[pick()]!);

    const target = 1000 + Math.floor(random() * 1001);
    const paragraphs: string[] = [];
    let paragraph: string[] = [];
    let sentencesLeft = 3 + Math.floor(random() * 5);
    let length = 0;
    while (length < target) {
      const sentenceLength = Math.min(target - length, 6 + Math.floor(random() * 19));
      let sentence = '';
      for (let i = 0; i < sentenceLength; i++) {
        const rank = pick();
        ranks[length] = rank;
        starts[length] = i === 0 ? 1 : 0;
        length++;
        const word = words[rank]!;
        sentence += i === 0 ? capitalise(word) : (random() < 0.06 ? ', ' : ' ') + word;
      }
      paragraph.push(`${sentence}.`);
      if (--sentencesLeft === 0 || length >= target) {
        paragraphs.push(paragraph.join(' '));
        paragraph = [];
        sentencesLeft = 3 + Math.floor(random() * 5);
      }
    }

    const text = paragraphs.join('\n\n');
    const tldrWords = text.split(/\s+/, 40).join(' ');
    const at = START + Math.floor(((n + 0.5 * random()) * SPAN_MS) / options.size);
    const draft: PostDraft = {
      key: `slug:post-${n}`,
      guid: null,
      url: `https://bench.example/p/post-${n}`,
      title: titleWords.map(capitalise).join(' '),
      subtitle: capitalise(subtitleWords.join(' ')),
      author: AUTHORS[n % AUTHORS.length]!,
      publishedAt: new Date(at),
      coverImageUrl: null,
      html: `<p>${paragraphs.join('</p><p>')}</p>`,
      text,
      wordCount: length,
      readingMinutes: Math.max(1, Math.round(length / 238)),
      tldr: `${tldrWords}…`,
      previewOnly: false,
      papers: [],
    };
    return { draft, titleWords, bodyRanks: ranks.slice(0, length), sentenceStarts: starts.slice(0, length) };
  }

  return { vocab, counts, post };
}
