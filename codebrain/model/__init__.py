"""Networks of CodeBrain: NAFNet blocks, FSQ, the ordinal codec, Stage I and the grader."""
