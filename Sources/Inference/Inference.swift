/// SKELETON: the forward-pass helper replaces this file.
public enum InferenceSkeleton {}
